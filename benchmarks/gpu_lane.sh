#!/usr/bin/env bash
# The GPU lane (issue 21): ONE call on a machine with one NVIDIA GPU, no registry and no Docker.
#
# Grades the TP2 and TP3 reference solutions and examples/class/tp2, tp3 twice with the
# subprocess backend, on CPU and with --gpus 1, straight from this tree (PYTHONPATH=., no pip),
# then prints one table: per student, CPU score vs GPU score, the wall time of each, the check
# whose numbers differ most between CPU and GPU (and by how much), and the device line of the
# GPU result; then, per check, the largest relative difference over all students. Exits 1 when
# any score differs between CPU and GPU (or a result is missing), 2 for a usage error.
#
# What "relative difference of the outputs" means here: the results do not carry the students'
# arrays, so each check is compared through what it reports: its status, its credit, and every
# number in its message (an accuracy, an RMSE, an error); a passing check with no message
# compares only status and credit (0 when equal).
#
#   bash benchmarks/gpu_lane.sh            # CPU and GPU (needs torch with CUDA and a GPU)
#   bash benchmarks/gpu_lane.sh --cpu-only # CPU only: the GPU columns say "sin GPU"
#   bash benchmarks/gpu_lane.sh --dry-run  # what it would run, grading nothing
#
# Environment: PYTHON (default python3), JOBS (submissions at once, default min(nproc, 8)),
# GPU_LANE_TPS (default "tp2 tp3"), GPU_LANE_OUT (keep the results there instead of a temporary
# folder). Needs numpy, torch, pandas, msgpack, click, rich. Without nbformat the notebooks of
# examples/class are left out (said so); without bubblewrap the workers run WITHOUT isolation
# (said so: this is a numerics lane, not a grading of real students). The GPU tests of the
# suite (pytest -m gpu) are another call: GRADER_REQUIRE_GPU=1 python -m pytest -m gpu.
set -euo pipefail

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

cpu_only=0 dry=0
for arg in "$@"; do
  case "$arg" in
    --cpu-only) cpu_only=1 ;;
    --dry-run) dry=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_lane.sh: opción desconocida $arg (ver --help)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PYTHON=${PYTHON:-python3}
cores=$(nproc 2>/dev/null || echo 2)
JOBS=${JOBS:-$(( cores < 8 ? cores : 8 ))}
TPS=${GPU_LANE_TPS:-tp2 tp3}
work=${GPU_LANE_OUT:-$(mktemp -d /tmp/gpu-lane.XXXXXX)}
mkdir -p "$work"

say() { echo "[gpu_lane] $*"; }

# --- the submissions: each TP's reference and the example class (notebooks need nbformat) ---
if "$PYTHON" -c "import nbformat" 2>/dev/null; then notebooks=1; else notebooks=0; fi
for tp in $TPS; do
  mkdir -p "$work/subs/$tp"
  cp "reference_solutions/$tp/$tp.py" "$work/subs/$tp/referencia.py"
  cp examples/class/"$tp"/*.py "$work/subs/$tp/"
  if [ "$notebooks" = 1 ]; then
    cp examples/class/"$tp"/*.ipynb "$work/subs/$tp/" 2>/dev/null || true
  else
    left=$(cd "examples/class/$tp" && ls ./*.ipynb 2>/dev/null | tr '\n' ' ' || true)
    [ -n "$left" ] && say "sin nbformat: se omiten los notebooks de $tp: $left"
  fi
done

command -v bwrap >/dev/null || say "ATENCIÓN: bubblewrap no está instalado: los workers corren SIN aislamiento"
if [ ! -w /sys/fs/cgroup/memory ]; then
  # With a GPU the worker's memory is capped by a cgroup-v1 memory group (RLIMIT_AS would stop
  # CUDA); a cgroup-v2 host has none: this lane goes on, saying so (GRADER_WEAK_SANDBOX=1).
  say "ATENCIÓN: sin cgroup de memoria v1: la memoria de los workers con GPU no tiene tope (GRADER_WEAK_SANDBOX=1)"
  export GRADER_WEAK_SANDBOX=1
fi

if [ "$cpu_only" = 0 ] && [ "$dry" = 0 ]; then
  if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    say "torch no ve CUDA en esta máquina: no hay carril GPU (usá --cpu-only para la mitad CPU)"
    exit 1
  fi
fi

grade() {  # grade TP LABEL [--gpus 1]
  local tp=$1 label=$2; shift 2
  local cmd=("$PYTHON" -m grader.cli grade "$tp" "$work/subs/$tp" --out "$work/$label"
             --jobs "$JOBS" --force "$@")
  if [ "$dry" = 1 ]; then echo "${cmd[*]}"; return 0; fi
  local start=$SECONDS
  if ! "${cmd[@]}" > "$work/$label-$tp.log" 2>&1; then
    say "falló la calificación $label de $tp:"; tail -20 "$work/$label-$tp.log"; return 1
  fi
  say "$tp en $label: $(( SECONDS - start )) s"
}

status=0
for tp in $TPS; do
  grade "$tp" cpu || status=1
  if [ "$cpu_only" = 0 ]; then grade "$tp" gpu --gpus 1 || status=1; fi
done
if [ "$dry" = 1 ]; then
  say "--dry-run: nada calificado"
  [ -z "${GPU_LANE_OUT:-}" ] && rm -rf "$work"
  exit 0
fi

"$PYTHON" - "$work" "$cpu_only" "$TPS" <<'PY' || status=1
import json
import math
import re
import sys
from pathlib import Path

work, cpu_only, tps = Path(sys.argv[1]), sys.argv[2] == "1", sys.argv[3].split()
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def load(label, tp):
    folder = work / label / tp
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if (
        folder.is_dir()) else {}


def numbers(check):
    return [float(x) for x in NUMBER.findall(check.get("message", ""))] + [check.get("credit", 1)]


def rel(a, b):
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def difference(cpu, gpu):
    """Largest relative difference between what a check reported on CPU and on GPU."""
    if cpu["status"] != gpu["status"]:
        return math.inf
    a, b = numbers(cpu), numbers(gpu)
    return math.inf if len(a) != len(b) else max((rel(x, y) for x, y in zip(a, b)), default=0.0)


def device(result):
    env = result.get("environment", {})
    if not env.get("worker_cuda_available"):
        return f"cpu · torch {env.get('worker_torch', '?')}"
    return (f"{env.get('worker_gpu', '?')} ({', '.join(env.get('gpu_devices', []))}) · CUDA "
            f"{env.get('worker_cuda', '?')} · cuDNN {env.get('worker_cudnn', '?')} · torch "
            f"{env.get('worker_torch', '?')} · {env.get('worker_nvidia_driver', '')[:60]}")


failed = False
per_check: dict[tuple[str, str], float] = {}
rows = []
for tp in tps:
    cpu, gpu = load("cpu", tp), load("gpu", tp)
    for student in sorted(set(cpu) | set(gpu)):
        c, g = cpu.get(student), gpu.get(student)
        worst, where = 0.0, "-"
        if c and g:
            gchecks = {k["id"]: k for k in g["checks"]}
            for check in c["checks"]:
                other = gchecks.get(check["id"])
                d = math.inf if other is None else difference(check, other)
                key = (tp, check["id"])
                per_check[key] = max(per_check.get(key, 0.0), d)
                if d > worst:
                    worst, where = d, check["id"]
        differs = not cpu_only and (c is None or g is None or c["score"] != g["score"])
        failed |= differs
        rows.append((tp, student, f"{c['score']:.2f}" if c else "falta",
                     "sin GPU" if cpu_only else f"{g['score']:.2f}" if g else "falta",
                     f"{c['duration_s']:.1f}" if c else "-",
                     "sin GPU" if cpu_only else f"{g['duration_s']:.1f}" if g else "-",
                     "sin GPU" if cpu_only else f"{worst:.1e} {where}",
                     "sin GPU" if cpu_only or not g else device(g), "DIFIERE" if differs else ""))

head = ("TP", "estudiante", "nota CPU", "nota GPU", "s CPU", "s GPU", "mayor dif. rel. (check)",
        "dispositivo (GPU)", "")
widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
for r in [head, *rows]:
    print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
if not cpu_only:
    print("\npor check: mayor diferencia relativa CPU/GPU entre todos los estudiantes")
    for (tp, check), d in sorted(per_check.items(), key=lambda kv: (-kv[1], kv[0])):
        if d > 0:
            print(f"  {tp}  {d:9.1e}  {check}")
    same = sum(1 for d in per_check.values() if d == 0)
    print(f"  {same} de {len(per_check)} checks informan lo mismo en CPU y GPU (estado, crédito y "
          "números del mensaje)")
print("\nLAS NOTAS DIFIEREN ENTRE CPU Y GPU" if failed else
      "\nnotas iguales en CPU y GPU" if not cpu_only else "\nsolo CPU (--cpu-only)")
sys.exit(1 if failed else 0)
PY
say "resultados y registros en $work"
exit $status
