"""How many attacks the red-team suite has, how many each backend blocks, and what succeeds in
process. Runs them for real (the same batches and in-process checks as the tests):

    python tests/attacks/summary.py [--backends subprocess,docker] [--no-inprocess]

An attack is blocked by a backend when it gets exactly its verdict in ``attack_table.py`` (the
grade an honest solution of its code earns, with the reason) and the host is untouched. The
archive attacks are refused by the intake before any backend runs, so they count as blocked by
every backend when the intake refuses them. Docker needs a daemon and the sandbox image
(``grader image build``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attack_table import (
    ARCHIVE_ATTACKS,
    ATTACKS,
    BLOCKED,
    KINDS,
    NOT_APPLICABLE,
    NOT_RUN,
    SUCCEEDS,
)
from attacklab import (
    HONEST,
    CheckServer,
    Lab,
    build_archive,
    check_in_process,
    grade_everything,
    reached_services,
    release,
)

from grader.intake.archives import ArchiveError, gather


def backend_blocks(backend: str, root: Path) -> tuple[dict[str, bool], str]:
    """Which attacks ``backend`` blocks, and what (if anything) went wrong on the host."""
    main = sorted([a.name for a in ATTACKS if not a.ordered] + list(HONEST))
    run = grade_everything(backend, root, main)
    run.lab.services.close()
    host = []
    if run.processes or run.files or run.containers or run.course_changed:
        host.append(f"left on the host: {run.processes + run.files + run.containers}")
    if run.lab.services.connections or run.lab.services.datagrams:
        host.append("reached the loopback services")
    honest = [run.main.result(s)["score"] for s in HONEST]
    if honest != [10.0] * len(HONEST):
        host.append(f"honest submissions got {honest}")
    blocked = {}
    for attack in ATTACKS:
        batch = run.ordered if attack.ordered else run.main
        try:
            blocked[attack.name] = not attack.problems(batch.result(attack.name)) and not host
        except AssertionError:  # no result at all
            blocked[attack.name] = False
    return blocked, "; ".join(host)


def archive_blocks(root: Path) -> dict[str, bool]:
    blocked = {}
    for attack in ARCHIVE_ATTACKS:
        folder = root / attack.name
        aim, workdir = folder / "aim", folder / "uploads"
        aim.mkdir(parents=True)
        upload = build_archive(attack.name, folder / "uploads.zip", aim=aim, workdir=workdir)
        try:
            gather(upload, workdir)
            blocked[attack.name] = False
        except ArchiveError:
            blocked[attack.name] = not any(aim.iterdir())
    return blocked


def inprocess_outcomes(root: Path) -> dict[str, str]:
    """``succeeds`` or ``blocked`` for the attacks safe to run in process; the table otherwise."""
    outcomes = {a.name: a.inprocess for a in ATTACKS}
    lab = Lab(root)
    server = CheckServer()
    try:
        checks = release(lab)
        for attack in ATTACKS:
            if attack.inprocess in (BLOCKED, SUCCEEDS):
                outcome = check_in_process(server, lab, checks, attack.name)
                outcomes[attack.name] = SUCCEEDS if outcome.succeeded else BLOCKED
        for name in ("connects_to_loopback", "resolves_dns"):
            if reached_services(lab, name):
                outcomes[name] = SUCCEEDS
    finally:
        server.close()
        lab.services.close()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="subprocess,docker")
    parser.add_argument("--no-inprocess", action="store_true")
    args = parser.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grader-attacks-") as tmp:
        root = Path(tmp)
        archives = archive_blocks(root / "archives")
        results: dict[str, dict[str, bool]] = {}
        notes: dict[str, str] = {}
        for backend in backends:
            blocked, note = backend_blocks(backend, root / backend)
            results[backend] = {**blocked, **archives}
            notes[backend] = note
        inprocess = {} if args.no_inprocess else inprocess_outcomes(root / "inprocess")

    kind_of = {a.name: a.kind for a in ATTACKS} | {a.name: "escaping the archive" for a in ARCHIVE_ATTACKS}
    total = len(kind_of)
    print(f"{total} attacks ({len(ATTACKS)} submissions graded by 'grader grade', "
          f"{len(ARCHIVE_ATTACKS)} archives refused by the intake)\n")
    header = f"{'kind':<24}{'attacks':>8}" + "".join(f"{b:>12}" for b in backends)
    if inprocess:
        header += f"{'inprocess: succeeds':>22}"
    print(header)
    counts = Counter(kind_of.values())
    for kind in KINDS:
        names = [n for n, k in kind_of.items() if k == kind]
        line = f"{kind:<24}{counts[kind]:>8}"
        for backend in backends:
            line += f"{sum(results[backend][n] for n in names):>12}"
        if inprocess:
            line += f"{sum(inprocess.get(n) in (SUCCEEDS, NOT_RUN) for n in names):>22}"
        print(line)
    line = f"{'total blocked':<24}{total:>8}" + "".join(
        f"{sum(results[b].values()):>12}" for b in backends)
    print(line)
    if inprocess:
        tally = Counter(inprocess.values())
        print(f"\ninprocess (grader check --backend inprocess, a student's own machine): "
              f"{tally[SUCCEEDS] + tally[NOT_RUN]} succeed ({tally[SUCCEEDS]} run, "
              f"{tally[NOT_RUN]} not run: nothing there would stop them), {tally[BLOCKED]} blocked, "
              f"{tally[NOT_APPLICABLE] + len(ARCHIVE_ATTACKS)} not applicable (hidden checks, a "
              f"second submission, the worker's channel, archives)")
        print("  succeed: " + ", ".join(sorted(n for n, o in inprocess.items() if o == SUCCEEDS)))
    for backend in backends:
        missed = sorted(n for n, ok in results[backend].items() if not ok)
        if missed or notes[backend]:
            print(f"\n{backend} did NOT block: {', '.join(missed)} {notes[backend]}")
    print(f"\n({time.monotonic() - started:.0f} s)")
    return 0 if all(all(r.values()) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
