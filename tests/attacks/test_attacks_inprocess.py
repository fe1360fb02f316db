"""The same attacks against ``grader check --backend inprocess``, the student-machine path.

That backend imports the student's file into the checking process itself: it protects nothing
and never grades (``grader grade`` refuses it). These tests record, attack by attack, what
succeeds there, so ``attack_table.py`` (and the summary it feeds, ``summary.py``) stays true. Each
attack runs in its own child with tight limits and its own folders; attacks that would harm the
machine even then (killing processes, fork and memory bombs, disk filling) are not run.
"""

from __future__ import annotations

import queue
from concurrent.futures import ThreadPoolExecutor

import pytest
from attack_table import ATTACKS, BLOCKED, SUCCEEDS, Attack
from attacklab import CheckServer, InprocessOutcome, Lab, check_in_process, reached_services, release

pytestmark = pytest.mark.slow
RUN = [a for a in ATTACKS if a.inprocess in (BLOCKED, SUCCEEDS)]


@pytest.fixture(scope="session")
def inprocess_outcomes(tmp_path_factory) -> dict[str, InprocessOutcome]:
    lab = Lab(tmp_path_factory.mktemp("attacks-inprocess"))
    servers = [CheckServer(), CheckServer()]
    try:
        checks = release(lab)
        idle: queue.SimpleQueue[CheckServer] = queue.SimpleQueue()
        for server in servers:
            idle.put(server)

        def check(attack: Attack) -> InprocessOutcome:
            server = idle.get()
            try:
                return check_in_process(server, lab, checks, attack.name)
            finally:
                idle.put(server)

        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            outcomes = dict(zip([a.name for a in RUN], pool.map(check, RUN), strict=True))
        for name, outcome in outcomes.items():
            reached = reached_services(lab, name)
            if reached:
                outcome.succeeded = True
                outcome.why.append(f"reached the host's loopback services: {reached}")
    finally:
        lab.services.close()
        for server in servers:
            server.close()
    return outcomes


@pytest.mark.parametrize("attack", RUN, ids=[a.name for a in RUN])
def test_what_each_attack_achieves_in_process_is_recorded(attack: Attack, inprocess_outcomes):
    outcome = inprocess_outcomes[attack.name]
    observed = SUCCEEDS if outcome.succeeded else BLOCKED
    assert observed == attack.inprocess, (
        f"{attack.name} {observed} in process ({outcome.why}; exit {outcome.run.returncode}): "
        f"{outcome.run.output[-1500:]}")
