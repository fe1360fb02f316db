"""Grading a batch on a Dask distributed cluster (``grader grade ... --cluster tcp://HOST:8786``).

``grader.batch.local.grade_batch`` lists the submissions, reuses current results and writes every
result; only the step "grade one pending submission" moves here: each becomes one task on the
cluster. The task runs on a worker machine what a local batch runs, the trusted child
``python -m grader.batch.child`` with the chosen sandbox backend, and returns the result as JSON
text. This process takes that text through ``grader.batch.request.accept`` as a local batch does
(schema, student, submission hash, grading fingerprint), so the results store is the one a local
run writes: resumable, atomic, file for file the same.

Each task carries as bytes everything its grading reads: the submission, ``course.toml`` and the
TP's assignment and reference folders (a few hundred KB). A worker machine then needs only the
grader package and its sandbox (bubblewrap, or Docker with the image built there), never a checkout
of the course that could lag behind this one; a result graded from other files would carry another
fingerprint and be refused. The course secret travels with the task too (to the trusted child's
environment, never into the sandbox), so hidden inputs are the ones a local run draws.

Trust: the scheduler and the workers are the course's own machines and see the hidden checks and
the references, as this one does; student code runs only inside the sandbox each worker starts.
Results come back as text parsed as JSON, and this client deserializes task results with msgpack
only (no pickle); Dask itself still pickles the exceptions of failed tasks between its members, so
the cluster is a trusted zone: run it on a private network, or with Dask's TLS.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import tempfile
import threading
import uuid
import warnings
from collections import Counter
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from grader import __version__, results
from grader.batch.child import child_timeout_s, run_child
from grader.batch.request import BatchEvent, BatchJob, GradeRequest, accept
from grader.course.limits import Limits
from grader.engine.grade import tp_files, tp_folders
from grader.errors import ClusterUnavailable, GraderError, UsageError
from grader.sandbox import registry
from grader.submissions import Submission, safe_name

RETRIES = 2
"""Reruns of a task that raised on its worker (a task whose worker died is rerun by the scheduler)."""
CONNECT_TIMEOUT_S = 30
WORKERS_TIMEOUT_S = 60
"""How long a batch waits for the scheduler to have at least one worker."""
MAX_REPLY_MB = 64
"""Largest reply accepted from a task (a result's outputs are already capped by the harness)."""
LOG_TAIL_CHARS = 64_000
MISSING = ("--cluster necesita el paquete 'distributed' (Dask), que no está instalado: "
           "pip install 'fiuba-ap-grader[cluster]'")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError(MISSING) from None
    return distributed


def check_options(*, backend: str, gpus: str) -> None:
    """Fails early, on this machine, for options no worker could grade with."""
    _distributed()
    registry.check_options(backend, gpus=gpus)


# --- the worker's side ---------------------------------------------------------------------------


def check_worker(backend: str, gpus: str, image: str | None) -> dict[str, Any]:
    """Run on every worker when a batch connects: can it grade with this backend? (data only)."""
    info: dict[str, Any] = {"version": __version__, "cpus": os.cpu_count() or 1, "error": "",
                            "warning": ""}
    try:
        info["warning"] = registry.preflight(backend, gpus=gpus, image=image)
    except GraderError as exc:
        info["error"] = str(exc)
    return info


_slots: dict[tuple[str, int], queue.SimpleQueue[int]] = {}
_slots_lock = threading.Lock()


def _free_slots(kind: str, count: int) -> queue.SimpleQueue[int]:
    """This worker's free job slots of a kind: ``"gpu"`` (with ``--resources GPU=N`` up to N tasks
    hold one GPU each) or ``"job"`` (one per concurrent task, ``--nthreads``: each gets its own
    sandbox uid, so concurrent students never share per-uid kernel quotas)."""
    with _slots_lock:
        if (kind, count) not in _slots:
            _slots[kind, count] = queue.SimpleQueue()
            for slot in range(count):
                _slots[kind, count].put(slot)
        return _slots[kind, count]


def _relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"ruta inválida en la tarea: {name!r}")
    return path


def _kill_when_cancelled(worker: Any, key: str, children: set[subprocess.Popen[bytes]],
                         lock: threading.Lock, done: threading.Event) -> None:
    # Dask cannot stop a running task: when the client cancels it (Ctrl-C), the task is marked
    # cancelled and its result dropped, so kill the trusted child instead of grading for nobody.
    while not done.wait(0.5):
        state = worker.state.tasks.get(key)
        if state is None or state.state in ("cancelled", "released"):
            with lock:
                for child in children:
                    child.kill()
            return


def grade_remotely(payload: dict[str, Any]) -> str:
    """The task: grades one submission with the trusted child, in a temporary folder of the
    worker, and returns ``{"returncode", "result" (the result's JSON text or null), "log",
    "worker"}`` as JSON text."""
    from distributed import get_worker

    worker = get_worker()
    request = GradeRequest.from_dict(payload["request"])
    options = dict(request.backend_options)
    limits = dict(request.limits)
    limits["threads"] = payload["threads"].get(
        worker.address, max(1, (os.cpu_count() or 1) // worker.state.nthreads))
    if options.get("gpus", "none") not in ("none", "all"):
        # --gpus N on a cluster: each task holds one of this worker's GPUs (its GPU resource).
        count = max(1, int(worker.state.total_resources.get("GPU", 1)))
        slots = _free_slots("gpu", count)
        options.update(gpus=str(count), slot=slots.get())
    else:
        slots = _free_slots("job", max(1, worker.state.nthreads))
        options.update(slot=slots.get())
    children: set[subprocess.Popen[bytes]] = set()
    lock = threading.Lock()
    done = threading.Event()
    threading.Thread(target=_kill_when_cancelled, daemon=True,
                     args=(worker, worker.get_current_task(), children, lock, done)).start()
    try:
        with tempfile.TemporaryDirectory(prefix="grader-task-") as tmp:
            root = Path(tmp)
            for name, data in payload["course_files"].items():
                target = root / "course" / _relative(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            submission = root / "submission" / _relative(payload["submission_name"]).name
            submission.parent.mkdir()
            submission.write_bytes(payload["submission"])
            out = root / "out" / "result.json"
            request = replace(
                request, course=str(root / "course" / _relative(payload["course_file"])),
                file=str(submission), out=str(out), backend_options=options, limits=limits)
            log = root / "child.log"
            returncode = run_child(request, log, timeout_s=child_timeout_s(Limits(**limits)),
                                   children=children, lock=lock,
                                   env={**os.environ, **payload["env"]})
            result = out.read_text(encoding="utf-8") if returncode == 0 and out.is_file() else None
            return json.dumps({"returncode": returncode, "result": result,
                               "log": log.read_text(errors="replace")[-LOG_TAIL_CHARS:],
                               "worker": worker.address})
    finally:
        done.set()
        slots.put(options["slot"])


# --- the client's side ---------------------------------------------------------------------------


def course_files(job: BatchJob) -> tuple[dict[str, bytes], str]:
    """``course.toml`` and the TP's assignment and reference folders as ``{path: bytes}``, paths
    relative to their common folder so the fingerprint on the worker is the one here; and the
    course file's path among them."""
    folders = [f.resolve() for f in tp_folders(job.course.tp(job.tp))]
    course_file = job.course_file.resolve()
    base = Path(os.path.commonpath([course_file.parent, *folders]))
    files = {course_file.relative_to(base).as_posix(): course_file.read_bytes()}
    for folder in folders:
        for path in tp_files(folder):  # the very files the fingerprint covers
            files[path.relative_to(base).as_posix()] = path.read_bytes()
    return files, course_file.relative_to(base).as_posix()


def _connect(distributed: Any, address: str) -> Any:
    try:
        # Task results are accepted only as msgpack data (our JSON text), never as pickles.
        return distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False,
                                  deserializers=["msgpack"])
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterUnavailable(f"no pude conectarme al scheduler de Dask en {address}: {exc}. "
                                 "Se esperaba 'dask scheduler' escuchando ahí (tcp://HOST:8786)"
                                 ) from None


def _check_workers(client: Any, address: str, job: BatchJob) -> dict[str, int]:
    """Checks every worker can grade (same grader, working sandbox, GPUs when asked); returns
    the BLAS threads each task of each worker gets: its machine's cores over the submissions all
    workers there grade at once, as ``--jobs`` does on one machine."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT_S)
    except TimeoutError:
        raise ClusterUnavailable(f"el scheduler {address} no tiene workers después de "
                                 f"{WORKERS_TIMEOUT_S} s; arrancá al menos uno con "
                                 f"'dask worker {address} --nthreads 1'") from None
    workers = client.scheduler_info(n_workers=-1)["workers"]
    if job.gpus != "none" and not any(w.get("resources", {}).get("GPU", 0) >= 1
                                      for w in workers.values()):
        raise ClusterUnavailable(f"se pidió --gpus {job.gpus} pero ningún worker de {address} "
                                 "ofrece GPUs; arrancalos con 'dask worker ... --resources GPU=1'")
    try:
        infos = client.run(check_worker, job.backend, job.gpus, job.image)
    except Exception as exc:  # a worker without grader.batch.cluster, or that died: report it, in Spanish
        raise ClusterUnavailable(f"no pude revisar los workers de {address} ({type(exc).__name__}: "
                                 f"{exc}); cada worker necesita grader instalado") from None
    problems = []
    for worker, info in sorted(infos.items()):
        if info["version"] != __version__:
            problems.append(f"{worker} tiene grader {info['version']}; se esperaba {__version__}")
        elif info["error"]:
            problems.append(f"{worker}: {info['error']}")
        elif info["warning"]:
            from grader.sandbox.subprocess import NoIsolationWarning

            warnings.warn(f"{worker}: {info['warning']}", NoIsolationWarning, stacklevel=2)
    if problems:
        raise ClusterUnavailable("hay workers que no pueden calificar: " + "; ".join(problems))
    on_host = Counter[str]()
    for worker in infos:
        on_host[workers[worker]["host"]] += workers[worker]["nthreads"]
    return {worker: max(1, info["cpus"] // on_host[workers[worker]["host"]])
            for worker, info in infos.items()}


def take_reply(job: BatchJob, submission: Submission, sha256: str, reply: Any) -> BatchEvent:
    """Checks a task's reply, writes its log, and ``accept``s its result as a local batch does."""
    student = submission.student

    def failed(message: str) -> BatchEvent:
        return BatchEvent("failed", student, message=message)

    if not isinstance(reply, str) or len(reply) > MAX_REPLY_MB * 1024 * 1024:
        return failed(f"el worker devolvió {type(reply).__name__}; se esperaba texto JSON de "
                      f"hasta {MAX_REPLY_MB} MB")
    try:
        data = json.loads(reply)
    except json.JSONDecodeError as exc:
        return failed(f"el worker devolvió JSON inválido ({exc})")
    if not (isinstance(data, dict) and type(data.get("returncode")) is int
            and isinstance(data.get("log"), str) and isinstance(data.get("worker"), str)
            and isinstance(data.get("result"), str | None)):
        return failed("el worker devolvió una respuesta sin returncode, log, worker y result")
    log = job.log_path(student)
    results.write_atomic(log, data["log"])
    if data["returncode"] != 0 or data["result"] is None:
        tail = data["log"].strip().splitlines()[-3:]
        return failed(f"el calificador falló en {data['worker']} (código {data['returncode']}); "
                      f"ver {log}: " + " | ".join(tail))
    return accept(job, student, sha256, data["result"], source=data["worker"])


def run_on_cluster(address: str, job: BatchJob,
                   pending: list[Submission]) -> Generator[BatchEvent, None, None]:
    """Grades ``pending`` as tasks on the Dask scheduler at ``address``, yielding each event as
    its task finishes. Stopping early (Ctrl-C) cancels every task not yet collected."""
    if not pending:
        return
    distributed = _distributed()
    client = _connect(distributed, address)
    try:
        threads = _check_workers(client, address, job)
        files, course_file = course_files(job)
        secret = os.environ.get(job.course.secret_env)
        resources = {"GPU": 1} if job.gpus != "none" else None
        futures: dict[Any, tuple[Submission, str]] = {}
        for submission in pending:
            data = submission.path.read_bytes()
            payload = {"request": GradeRequest.for_submission(job, submission).to_dict(),
                       "course_files": files, "course_file": course_file,
                       "submission_name": submission.path.name, "submission": data, "threads": threads,
                       "env": {job.course.secret_env: secret} if secret else {}}
            # The key names the student: the dashboard (and tests) can tell which task is which.
            key = f"grade-{job.tp}-{safe_name(submission.student)}-{uuid.uuid4().hex[:8]}"
            future = client.submit(grade_remotely, payload, key=key, pure=False, retries=RETRIES,
                                   resources=resources)
            futures[future] = (submission, hashlib.sha256(data).hexdigest())
        remaining = set(futures)
        try:
            for future in distributed.as_completed(list(futures), loop=client.loop):
                remaining.discard(future)
                submission, sha256 = futures[future]
                try:
                    reply = future.result()
                except Exception as exc:  # raised RETRIES + 1 times, or its workers kept dying
                    event = BatchEvent("failed", submission.student,
                                       message=f"el cluster no calificó la entrega "
                                               f"({type(exc).__name__}: {exc})")
                else:
                    event = take_reply(job, submission, sha256, reply)
                future.release()
                yield event
        except BaseException:  # Ctrl-C, or the caller stopped early: written results stay
            _bounded(lambda: client.cancel(list(remaining)))
            raise
    finally:
        _bounded(client.close)


def _bounded(action: Any, timeout_s: float = 15.0) -> None:
    """Runs a client call that talks to the scheduler, giving up after ``timeout_s``.

    On Ctrl-C the batch must end promptly (CI saw cancel/close hang past a minute under load);
    if the call does not finish, leaving is enough: the scheduler drops the tasks of a client
    that disconnected, and the workers' watchers kill their trusted children."""
    def run() -> None:
        try:
            action()
        except Exception:  # the batch is ending either way; nothing of it is a grade
            pass

    thread = threading.Thread(target=run, daemon=True, name="grader-cluster-close")
    thread.start()
    thread.join(timeout_s)
