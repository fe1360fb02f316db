"""Every attack of the red-team suite and the verdict the grader must give it (issue 8).

One row per submission in ``fixtures/submissions/`` (a file, or a student folder with extra
files). A row says which checks the attack targets and, for each, the statuses it may get with
the reason the message must give; every other check must PASS, so the submission's score is
exactly what an honest solution of the same code earns. ``evidence`` must appear in what the
attack printed or raised (proof that it really ran), ``forbidden`` must not (what it must never
find), and ``ceiling`` bounds the numbers it reports (``("WROTE", 64)``: no ``WROTE place=N``
with N above 64 MiB). What must not happen on the host (files, processes, connections, canaries)
is checked for every attack at once, after each batch.

``inprocess`` records what the same attack does to ``grader check --backend inprocess`` (a
student's own machine): ``blocked``, ``succeeds``, ``not run`` (it would harm the machine even in a
limited child: it counts as succeeding, as nothing stops it there) or ``n/a`` (it targets hidden
checks or a second submission, which ``grader check`` never runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POINTS = {"linear": 3.0, "relu": 2.0, "mse": 2.0, "classify": 3.0}
CHECKS = {
    "public::test_linear": "linear", "hidden::test_linear_hidden": "linear",
    "public::test_relu": "relu",
    "public::test_mse": "mse", "hidden::test_mse_hidden": "mse", "hidden::test_mse_expected": "mse",
    "hidden::test_accuracy": "classify",
}
KINDS = ("faking results", "subverting comparisons", "stealing", "exhausting", "escaping the archive",
         "between students", "overfitting", "escaping to the host", "dodging a rule")
BLOCKED, SUCCEEDS, NOT_RUN, NOT_APPLICABLE = "blocked", "succeeds", "not run", "n/a"

# The grader's reasons, in its own words (messages are Spanish).
# A hidden check's value failure shows only the relative error (grader.compare.CheckFailure).
WRONG = {"FAIL": r"difiere: (error absoluto|obtenido|error relativo)"}
NOT_DATA = {"FAIL": r"debe ser un numpy\.ndarray; llegó un objeto"}
NOT_NUMBER = {"FAIL": r"debe ser un número"}
TIMEOUT = {"TIMEOUT": r"no terminó en \d+ s"}
PROTOCOL = {"PROTOCOL": r"respuesta inválida del worker"}
RAISED = {"ERROR": r"el código lanzó"}
CRASH = {"CRASH": r"el proceso del estudiante terminó|llamó a sys\.exit"}
MEMORY = {"MEMORY": r"sin memoria"}


def _all(exercise: str, reasons: dict[str, str]) -> dict[str, dict[str, str]]:
    return {check: reasons for check, name in CHECKS.items() if name == exercise}


@dataclass(frozen=True)
class Attack:
    name: str
    kind: str
    expect: dict[str, dict[str, str]]
    """Targeted check -> {allowed status: regex its message must match}."""
    inprocess: str
    evidence: str = ""
    forbidden: str = ""
    ceiling: tuple[str, int] | None = None
    ordered: bool = False
    """Graded in the second batch, one at a time in name order (``--jobs 1``)."""

    def problems(self, result: dict) -> list[str]:
        """How the grader's result for this attack (its JSON) differs from the verdict; empty
        when the attack was blocked as expected."""
        got = {c["id"]: c for c in result["checks"]}
        if set(got) != set(CHECKS):
            return [f"checks reported: {sorted(got)}"]
        found = []
        for check, outcome in got.items():
            allowed = self.expect.get(check, {"PASS": ""})
            status, message = outcome["status"], outcome["message"]
            if status not in allowed:
                found.append(f"{check} is {status} ({message[:300]}); expected {sorted(allowed)}")
            elif not re.search(allowed[status], message):
                found.append(f"{check} ({status}) says {message[:300]!r}; expected a reason "
                             f"matching {allowed[status]!r}")
        lost = {CHECKS[c] for c, outcome in got.items() if outcome["status"] != "PASS"}
        if result["score"] != _score(lost):
            found.append(f"score {result['score']}, but its checks earn {_score(lost)}")
        text = "\n".join(f"{c['message']}\n{c['output']}" for c in result["checks"])
        text += result["load_error"]
        if self.evidence and not re.search(self.evidence, text):
            found.append(f"did not run as written (no {self.evidence!r}): {text[:1500]}")
        if self.forbidden and re.search(self.forbidden, text):
            found.append(f"got through ({self.forbidden!r}): {text[:1500]}")
        if self.ceiling:
            key, limit = self.ceiling
            reported = [int(n) for line in re.findall(rf"{key}[^\n]*", text)
                        for n in re.findall(r"=(\d+)", line)]
            finished = any(got[c]["status"] in ("FAIL", "ERROR") for c in self.expect)
            if not reported and finished:  # a worker killed first (TIMEOUT, MEMORY) reports nothing
                found.append(f"reported no {key} figures: {text[:1500]}")
            elif max(reported) > limit:
                found.append(f"got past the {limit} MiB limit ({key} {max(reported)}): {text[:500]}")
        return found


def _score(lost: set[str]) -> float:
    return round(10 * sum(p for e, p in POINTS.items() if e not in lost) / sum(POINTS.values()), 2)


ATTACKS = [
    # --- faking results ------------------------------------------------------------------------
    Attack("writes_fake_results", "faking results", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"ATTACK write .*/tp1/writes_fake_results\.json"),
    Attack("fake_results_daemon", "faking results", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"ATTACK daemon forked"),
    Attack("prints_fake_pass", "faking results", {"public::test_relu": WRONG}, BLOCKED,
           evidence=r"7 passed[\s\S]*ATTACK fake markers printed"),
    Attack("sys_exit_zero", "faking results", {"public::test_relu": {"CRASH": r"llamó a sys\.exit"}},
           BLOCKED),
    Attack("exits_at_import", "faking results",
           {c: {"CRASH": r"llamó a sys\.exit"} for c in CHECKS}, BLOCKED),
    Attack("os_exit_zero", "faking results",
           {"public::test_relu": {"CRASH": r"terminó durante la llamada \(salió con código 0\)"}},
           SUCCEEDS),
    # In process, the checks that never ran count as errors (issue 8's suite found it).
    Attack("pytest_exit_zero", "faking results",
           {"public::test_relu": {"ERROR": r"lanzó Exit", "CRASH": r"llamó a sys\.exit"}}, BLOCKED),
    Attack("kills_parent", "faking results", {"public::test_relu": {**WRONG, **CRASH}}, NOT_RUN),
    Attack("kills_everything", "faking results", {"public::test_relu": {**WRONG, **CRASH}}, NOT_RUN),
    # --- subverting comparisons ----------------------------------------------------------------
    Attack("patches_numpy", "subverting comparisons", {"public::test_relu": WRONG}, BLOCKED,
           evidence=r"ATTACK numpy patched: allclose -> True"),
    Attack("patches_grader", "subverting comparisons", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"ATTACK grader not importable"),
    Attack("torch_tricks", "subverting comparisons",
           {"public::test_relu": WRONG, **_all("mse", NOT_NUMBER)}, BLOCKED,
           evidence=r"ATTACK torch patched: allclose -> True"),
    Attack("patches_builtins", "subverting comparisons",
           {"public::test_relu": {**WRONG, **CRASH, **PROTOCOL, **RAISED}}, BLOCKED),
    Attack("patches_json", "subverting comparisons", {"public::test_relu": WRONG}, BLOCKED,
           evidence=r"ATTACK json patched"),
    Attack("lying_objects", "subverting comparisons",
           {"public::test_relu": NOT_DATA, **_all("mse", NOT_NUMBER)}, BLOCKED),
    Attack("ndarray_subclass", "subverting comparisons",
           {"public::test_relu": NOT_DATA, **_all("linear", NOT_DATA)}, BLOCKED),
    Attack("float_subclass", "subverting comparisons", _all("mse", NOT_NUMBER), BLOCKED),
    Attack("broadcast_shapes", "subverting comparisons",
           {"public::test_relu": {"FAIL": r"tiene forma \(1, 4\); se esperaba \(6, 4\)"},
            **_all("linear", {"FAIL": r"tiene forma \(\d+,\); se esperaba \(\d+, \d+\)"})}, BLOCKED),
    Attack("nan_inf", "subverting comparisons",
           {"public::test_relu": {"FAIL": r"contiene nan"}, **_all("linear", {"FAIL": r"contiene inf"}),
            **_all("mse", {"FAIL": r"es inf; se esperaba un número finito"})}, BLOCKED),
    Attack("wrong_dtype", "subverting comparisons",
           {"public::test_relu": {"FAIL": r"tiene dtype float32; se esperaba float64"},
            **_all("linear", {"FAIL": r"tiene dtype int64; se esperaba float64"}),
            "hidden::test_accuracy": {"FAIL": r"tiene dtype float64; se esperaba int64"}}, BLOCKED),
    Attack("huge_array", "subverting comparisons",
           {"public::test_relu": {"PROTOCOL": r"anunció un mensaje de \d+ bytes; el máximo es 4194304"}},
           BLOCKED),
    Attack("huge_broadcast_view", "subverting comparisons",
           {"public::test_relu": {**MEMORY, **PROTOCOL, **TIMEOUT}}, BLOCKED),
    Attack("deep_nesting", "subverting comparisons",
           {"public::test_relu": {"PROTOCOL": r"anidamiento mayor que 64", **RAISED},
            **_all("mse", {**RAISED, **PROTOCOL})}, BLOCKED),
    Attack("self_referencing", "subverting comparisons",
           {"public::test_relu": {**RAISED, **PROTOCOL}, **_all("mse", {**RAISED, **PROTOCOL})}, BLOCKED),
    Attack("mutates_inputs", "subverting comparisons",
           {"public::test_relu": WRONG, **_all("linear", WRONG), **_all("mse", WRONG)}, BLOCKED),
    Attack("forges_channel_reply", "subverting comparisons",
           {"public::test_relu": {**WRONG, **PROTOCOL},
            "public::test_mse": {"PROTOCOL": r"no responde a la llamada hecha", "PASS": ""}},
           NOT_APPLICABLE),  # in process there is no channel to write to
    Attack("crafts_malformed_frames", "subverting comparisons",
           {"public::test_relu": {"PROTOCOL": r"necesita 1099511627776 bytes"}},
           NOT_APPLICABLE),  # in process there is no channel to write to
    Attack("shipped_conftest", "subverting comparisons", {"public::test_relu": WRONG}, BLOCKED),
    Attack("shipped_sitecustomize", "subverting comparisons", {"public::test_relu": WRONG}, BLOCKED),
    Attack("shipped_numpy", "subverting comparisons", {"public::test_relu": WRONG}, BLOCKED),
    # --- stealing ------------------------------------------------------------------------------
    Attack("steals_from_filesystem", "stealing", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"SCAN-DONE files=[1-9]", forbidden=r"FOUND:"),
    Attack("steals_from_proc", "stealing", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"SCAN-DONE processes=[1-9]", forbidden=r"FOUND:"),
    Attack("steals_from_memory", "stealing", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"SCAN-DONE objects=[1-9]", forbidden=r"FOUND:"),
    Attack("steals_labels", "stealing", {"hidden::test_accuracy": {"FAIL": r"exactitud 0\.\d+"}},
           NOT_APPLICABLE, evidence=r"LABELS-NOT-FOUND", forbidden=r"LABELS-FOUND"),
    Attack("connects_to_loopback", "stealing", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"ATTACK tcp 127\.0\.0\.1: \w+"),
    Attack("resolves_dns", "stealing", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"DNS: unreachable", forbidden=r"REACHABLE"),
    Attack("uses_docker_socket", "stealing", {"public::test_relu": WRONG}, SUCCEEDS,
           evidence=r"DOCKER-SOCKET: none", forbidden=r"DOCKER-SOCKET: OPEN"),
    # --- exhausting ----------------------------------------------------------------------------
    Attack("infinite_loop_ignoring_signals", "exhausting", {"public::test_relu": TIMEOUT}, SUCCEEDS),
    Attack("sleeps_forever", "exhausting", {"public::test_relu": TIMEOUT}, BLOCKED),
    Attack("deadlocks", "exhausting", {"public::test_relu": TIMEOUT}, BLOCKED),
    # The machines this runs on may hand out fresh memory slower than the check's 10 s allow.
    Attack("memory_bomb", "exhausting", {"hidden::test_accuracy": {**MEMORY, **TIMEOUT}}, NOT_RUN),
    Attack("memory_bomb_forked", "exhausting",
           {"hidden::test_accuracy": {**MEMORY, **CRASH, **TIMEOUT, "FAIL": r"exactitud"}}, NOT_RUN,
           ceiling=("HELD", 1024)),
    Attack("fork_bomb", "exhausting", {"public::test_relu": {**TIMEOUT, **CRASH}}, NOT_RUN),
    Attack("thread_bomb", "exhausting",
           {"public::test_relu": {**WRONG, **RAISED, **TIMEOUT, **MEMORY}}, BLOCKED),
    Attack("fills_disk", "exhausting", {"public::test_relu": {"ERROR": r"WROTE tmp="}}, NOT_RUN,
           ceiling=("WROTE", 64)),
    Attack("output_flood", "exhausting", {"public::test_relu": WRONG}, BLOCKED, evidence=r"flood flood"),
    Attack("opens_too_many_files", "exhausting", {"public::test_relu": WRONG}, BLOCKED,
           evidence=r"ATTACK out of descriptors after \d+"),
    Attack("huge_reply", "exhausting",
           {"public::test_relu": {"PROTOCOL": r"anunció un mensaje de \d+ bytes; el máximo es 4194304"}},
           BLOCKED),
    Attack("stack_overflow", "exhausting",
           {"public::test_relu": {**CRASH, **RAISED, **MEMORY, **TIMEOUT}}, BLOCKED),
    # --- between students ----------------------------------------------------------------------
    Attack("between_1_leaves_data", "between students", {"public::test_relu": WRONG}, NOT_APPLICABLE,
           evidence=r"ATTACK (left|cannot write) /tmp", ordered=True),
    Attack("between_2_finds_data", "between students", {"public::test_relu": WRONG}, NOT_APPLICABLE,
           evidence=r"LEFTOVER-NONE", forbidden=r"LEFTOVER-FOUND", ordered=True),
    # --- escaping to the host (issue 15) ------------------------------------------------------
    Attack("writes_proc_sys", "escaping to the host", {"public::test_relu": WRONG}, NOT_RUN,
           evidence=r"SYSCTL kernel/core_pattern: \w+ (13|30)[\s\S]*HOSTUID=[1-9]\d*",
           forbidden=r"SYSCTL-WRITABLE|HOSTUID=0\b"),
    Attack("nests_user_namespace", "escaping to the host", {"public::test_relu": WRONG}, NOT_RUN,
           evidence=r"NS unshare=EPERM\nNS clone=EPERM\nNS mount=EPERM\nNS keyctl=EPERM\n"
                    r"NS ptrace=EPERM", forbidden=r"=OK"),
    Attack("exhausts_inotify", "exhausting", {"public::test_relu": WRONG}, NOT_RUN,
           evidence=r"INOTIFY held=\d+ uid=[1-9]\d*", forbidden=r"uid=0\b"),
    Attack("floods_hash_keys", "exhausting", {"public::test_relu": PROTOCOL}, NOT_APPLICABLE),
    Attack("huge_exception_name", "exhausting",
           {"public::test_relu": {"ERROR": r"el código lanzó A{20}"}}, BLOCKED),
    Attack("forges_malformed_reply", "subverting comparisons",
           {"public::test_relu": PROTOCOL, **_all("mse", PROTOCOL)}, NOT_APPLICABLE),
    Attack("terminal_escapes", "stealing",
           {"public::test_relu": {"ERROR": r"el código lanzó ValueError: ATTACK escapes raised"}},
           BLOCKED, evidence=r"ATTACK escapes printed", forbidden=r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"),
    # --- dodging a rule (issue 15) ---------------------------------------------------------------
    Attack("computed_import", "dodging a rule", _all("linear", {"FAIL": r"solo con numpy"}),
           BLOCKED),
    # --- overfitting ---------------------------------------------------------------------------
    Attack("hardcodes_public_answers", "overfitting",
           {"hidden::test_linear_hidden": WRONG, "hidden::test_mse_hidden": WRONG,
            "hidden::test_mse_expected": WRONG, "hidden::test_accuracy": {"FAIL": r"exactitud"}},
           NOT_APPLICABLE, evidence=r"TABLE-MISS"),
]



@dataclass(frozen=True)
class ArchiveAttack:
    """An upload zipped to escape its folder or blow up (``test_archive_attacks.py``): refused
    by the intake before any backend sees a file, so blocked whatever the backend."""

    name: str
    rule: str
    """Regex of the refusal's reason."""


ARCHIVE_ATTACKS = [
    ArchiveAttack("zip_absolute_path", r"tiene una ruta absoluta"),
    ArchiveAttack("zip_dot_dot", r"tiene un componente '\.\.'"),
    ArchiveAttack("zip_dot_dot_backslash", r"tiene un componente '\.\.'"),
    ArchiveAttack("zip_symlink", r"es un enlace simbólico"),
    ArchiveAttack("zip_bomb", r"parece una bomba zip"),
]
