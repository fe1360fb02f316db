"""GPUs on the subprocess backend, on a machine without one (issue 21): bubblewrap shows exactly
the NVIDIA nodes of the job slot's GPU and the driver's libraries, job k gets GPU k mod N as with
docker, and a worker that does not see CUDA stops the grading. A fake ``/dev`` (plain files in
tmp_path) stands for the driver's nodes; the real thing runs in the ``gpu`` tests."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

from grader.engine.session import Session
from grader.errors import SandboxUnavailable, UsageError
from grader.sandbox import registry, seccomp
from grader.sandbox.base import Limits
from grader.sandbox.docker import DockerBackend
from grader.sandbox.gpus import GpuRequest, NvidiaHost, assigned_gpu, parse_gpus
from grader.sandbox.subprocess import SubprocessBackend

UUID = "GPU-3f1c2a9e-0b7d-4c55-9a1e-7d2f7c1b0e42"
PROBE = """\
import os, resource

def nodes():
    return sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))

def cuda_variables():
    return {k: v for k, v in os.environ.items() if k.startswith("CUDA_")}

def address_space_limit():
    return resource.getrlimit(resource.RLIMIT_AS)[0]
"""


def fake_host(tmp_path: Path, gpus: int = 2, *, libraries: list[str] | None = None,
              uuid: bool = True) -> NvidiaHost:
    """A machine with ``gpus`` NVIDIA GPUs: its nodes as plain files, world read-write as the
    driver leaves them."""
    dev, proc = tmp_path / "dev", tmp_path / "proc-nvidia"
    dev.mkdir()
    names = ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "null"]
    for name in [*names, *(f"nvidia{g}" for g in range(gpus))]:
        (dev / name).write_text("")
        (dev / name).chmod(0o666)
    (dev / "nvidia-caps").mkdir()
    for g in range(gpus):
        folder = proc / "gpus" / f"0000:{g + 0x17:02x}:00.0"
        folder.mkdir(parents=True)
        shown = UUID[:-1] + str(g) if uuid else "GPU-????????-????-????-????-????????????"
        (folder / "information").write_text(f"Model: \t\t NVIDIA H100\nGPU UUID: \t {shown}\n"
                                            f"Bus Location: \t 0000:{g + 0x17:02x}:00.0\n"
                                            f"Device Minor: \t {g}\n")
    return NvidiaHost(dev=dev, driver_proc=proc, libraries=libraries or [])


def test_gpus_are_none_all_or_a_count():
    assert parse_gpus("2") == ("count", 2)
    assert parse_gpus(" ALL ") == ("all", 0)
    with pytest.raises(UsageError, match="--gpus espera 'none', 'all' o un número"):
        parse_gpus("0")


def test_job_k_gets_gpu_k_mod_n_on_both_backends():
    assert [assigned_gpu(slot, 3) for slot in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    # docker's request comes from the same mapping
    assert GpuRequest.parse("3", slot=4).docker() == "device=1"
    assert GpuRequest.parse("all", slot=4).docker() == "all"
    assert GpuRequest.parse("none").docker() is None


def test_the_bwrap_arguments_for_one_gpu_name_its_node_and_the_control_nodes(tmp_path):
    host = fake_host(tmp_path, gpus=2)
    dev = host.dev
    assert GpuRequest.parse("2", slot=3).binds(host) == [
        ("--dev-bind", f"{dev}/nvidiactl", "/dev/nvidiactl"),
        ("--dev-bind", f"{dev}/nvidia-uvm", "/dev/nvidia-uvm"),
        ("--dev-bind", f"{dev}/nvidia-uvm-tools", "/dev/nvidia-uvm-tools"),
        ("--dev-bind", f"{dev}/nvidia1", "/dev/nvidia1"),
    ]
    every = [target for _, _, target in GpuRequest.parse("all").binds(host)]
    assert every[-2:] == ["/dev/nvidia0", "/dev/nvidia1"]
    assert GpuRequest.parse("none").binds(host) == []


def test_driver_libraries_outside_the_system_folders_are_bound_read_only(tmp_path):
    driver = tmp_path / "nvidia" / "lib64"
    driver.mkdir(parents=True)
    (driver / "libcuda.so.550.54").write_text("")
    (driver / "libcuda.so.1").symlink_to("libcuda.so.550.54")
    host = fake_host(tmp_path, gpus=1, libraries=[str(driver / "libcuda.so.1"),
                                                  "/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1"])
    libraries = [b for b in GpuRequest.parse("1").binds(host) if b[0] == "--ro-bind"]
    # /usr is in the sandbox already; the symlink and its target both, so ld.so finds either.
    assert libraries == [("--ro-bind", str(driver / "libcuda.so.1"), str(driver / "libcuda.so.1")),
                         ("--ro-bind", str(driver / "libcuda.so.550.54"),
                          str(driver / "libcuda.so.550.54"))]


def test_ldconfig_names_the_driver_libraries_and_nothing_else(monkeypatch):
    import subprocess

    listing = ("3 libs found in cache `/etc/ld.so.cache'\n"
               "\tlibnvidia-ml.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1\n"
               "\tlibcuda.so.1 (libc6,x86-64) => /usr/local/nvidia/lib64/libcuda.so.1\n"
               "\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.12\n"
               "\tlibm.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libm.so.6\n")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout=listing, stderr=""))
    assert NvidiaHost().driver_libraries() == ["/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1",
                                               "/usr/local/nvidia/lib64/libcuda.so.1"]


def test_cuda_visible_devices_names_the_slots_gpu_by_uuid(tmp_path):
    host = fake_host(tmp_path, gpus=2)
    assert GpuRequest.parse("2", slot=1).cuda_environment(host, isolated=True) == {
        "CUDA_VISIBLE_DEVICES": UUID[:-1] + "1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    assert GpuRequest.parse("all").cuda_environment(host, isolated=True) == {}


def test_without_a_uuid_the_only_gpu_in_the_sandbox_is_0_and_outside_it_its_index(tmp_path):
    host = fake_host(tmp_path, gpus=2, uuid=False)
    request = GpuRequest.parse("2", slot=3)
    assert request.cuda_environment(host, isolated=True)["CUDA_VISIBLE_DEVICES"] == "0"
    assert request.cuda_environment(host, isolated=False)["CUDA_VISIBLE_DEVICES"] == "1"


def test_a_machine_without_gpus_refuses_gpu_grading(tmp_path):
    empty = NvidiaHost(dev=tmp_path, driver_proc=tmp_path, libraries=[])
    with pytest.raises(SandboxUnavailable, match="no tiene GPUs NVIDIA utilizables"):
        SubprocessBackend(gpus="1", gpu_host=empty)
    # The real machine of this test suite has none either: the registry's path refuses too.
    if not os.path.exists("/dev/nvidiactl"):
        with pytest.raises(SandboxUnavailable, match="no tiene GPUs NVIDIA"):
            registry.new_backend("subprocess", gpus="1")


def test_more_gpus_than_the_machine_has_is_refused(tmp_path):
    with pytest.raises(SandboxUnavailable, match=r"se pidieron 3 GPUs .* tiene 2: nvidia0, nvidia1"):
        SubprocessBackend(gpus="3", gpu_host=fake_host(tmp_path, gpus=2))


def test_nodes_the_sandbox_user_cannot_open_are_refused_before_grading(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADER_WEAK_SANDBOX", raising=False)
    host = fake_host(tmp_path, gpus=1)
    (host.dev / "nvidia0").chmod(0o660)
    assert GpuRequest.parse("1").unreadable_nodes(host) == [str(host.dev / "nvidia0")]
    if os.getuid() == 0:  # only a root grader drops to another uid
        with pytest.raises(SandboxUnavailable, match=r"no puede abrir .*nvidia0"):
            SubprocessBackend(isolation="bwrap", gpus="1", gpu_host=host)


@pytest.mark.bwrap
def test_the_bwrap_command_for_gpus_1_binds_exactly_the_slots_nodes(tmp_path):
    host = fake_host(tmp_path, gpus=2)
    backend = SubprocessBackend(isolation="bwrap", gpus="2", slot=1, gpu_host=host)
    command, _ = backend._bwrap_command(tmp_path, "m.py", Limits())
    binds = [command[i + 1:i + 3] for i, arg in enumerate(command) if arg == "--dev-bind"]
    assert binds == [[str(host.dev / n), f"/dev/{n}"] for n in
                     ("nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia1")]
    # after bubblewrap's fresh /dev, or they would be hidden by it
    assert command.index("--dev-bind") > command.index("--dev")
    assert backend.describe()["gpus"] == "2" and backend.describe()["gpu_devices"] == ["nvidia1"]


@pytest.mark.bwrap
def test_a_sandboxed_worker_sees_only_its_gpu_its_cuda_variables_and_no_address_space_cap(
        tmp_path):
    host = fake_host(tmp_path, gpus=2)
    module = tmp_path / "probe.py"
    module.write_text(PROBE)
    session = Session(SubprocessBackend(isolation="bwrap", gpus="2", slot=3, gpu_host=host),
                      module, "probe", Limits(memory_mb=1024))
    try:
        probe = session.module()
        assert probe.nodes() == ["nvidia-uvm", "nvidia-uvm-tools", "nvidia1", "nvidiactl"]
        assert probe.cuda_variables() == {"CUDA_VISIBLE_DEVICES": UUID[:-1] + "1",
                                          "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
        assert probe.address_space_limit() == resource.RLIM_INFINITY
    finally:
        session.close()


@pytest.mark.bwrap
def test_without_gpus_the_worker_keeps_its_address_space_cap_and_sees_no_nvidia_node(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text(PROBE)
    session = Session(SubprocessBackend(isolation="bwrap"), module, "probe",
                      Limits(memory_mb=1024))
    try:
        assert session.module().nodes() == []
        assert session.module().address_space_limit() == 1024 * 1024 * 1024
    finally:
        session.close()


@pytest.mark.bwrap
def test_a_worker_whose_torch_has_no_cuda_stops_the_grading(tmp_path):
    # This machine's torch is a CPU build: asked for a GPU, grading must stop, never go on on CPU.
    module = tmp_path / "probe.py"
    module.write_text(PROBE)
    session = Session(SubprocessBackend(isolation="bwrap", gpus="1", gpu_host=fake_host(tmp_path)),
                      module, "probe", Limits(memory_mb=4096), uses_torch=True)
    try:
        with pytest.raises(SandboxUnavailable, match=r"se pidió GPU \(1\) pero torch .* no ve CUDA"):
            session.begin_check(1)
        assert session.device == "cpu"
    finally:
        session.close()


def test_the_docker_backend_maps_slots_to_gpus_with_the_same_function(monkeypatch):
    monkeypatch.setattr(DockerBackend, "_check_image", lambda self: {})
    backend = DockerBackend(gpus="2", slot=5)
    command = backend.command("n", Path("/tmp"), Limits())
    assert command[command.index("--gpus") + 1] == "device=1"
    assert backend.describe()["gpus"] == "device=1"


def test_the_seccomp_filter_denies_nothing_the_nvidia_driver_calls():
    # libcuda and the UVM driver talk to the nodes by ioctl and map memory; none of that may be
    # in the denial list (it applies with and without GPUs).
    needed = {"ioctl", "mmap", "munmap", "mremap", "madvise", "mbind", "get_mempolicy",
              "set_mempolicy", "sched_setaffinity", "memfd_create", "openat", "eventfd2", "poll",
              "clone"}
    assert needed.isdisjoint(seccomp.DENIED_SYSCALLS)


# --- on a machine with a GPU only (they select themselves: tests/conftest.py) -------------

CUDA_PROBE = """\
import torch

def cuda():
    return {"available": torch.cuda.is_available(), "count": torch.cuda.device_count(),
            "sum": float(torch.ones(1000, device="cuda").sum().item())}
"""


@pytest.mark.gpu
@pytest.mark.bwrap
@pytest.mark.filterwarnings("ignore::grader.sandbox.base.WeakSandboxWarning")
def test_a_bubblewrap_worker_sees_cuda_on_its_one_gpu(tmp_path, monkeypatch):
    if not os.access("/sys/fs/cgroup/memory", os.W_OK):  # a cgroup-v2 host: see the module
        monkeypatch.setenv("GRADER_WEAK_SANDBOX", "1")
    module = tmp_path / "probe.py"
    module.write_text(CUDA_PROBE)
    session = Session(SubprocessBackend(isolation="bwrap", gpus="1"), module, "probe",
                      Limits(memory_mb=8192, import_timeout_s=120, call_timeout_s=120),
                      uses_torch=True)
    try:
        session.begin_check(1)
        assert session.device == "cuda"
        assert session.module().cuda() == {"available": True, "count": 1, "sum": 1000.0}
        assert session.environment["cudnn_deterministic"] is True
        assert session.environment["gpu"]
    finally:
        session.close()


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::grader.sandbox.base.WeakSandboxWarning")
def test_the_tp3_reference_gets_10_on_a_gpu_with_the_subprocess_backend(monkeypatch):
    from grader.course import load_course
    from grader.engine.grade import grade_submission

    if not os.access("/sys/fs/cgroup/memory", os.W_OK):
        monkeypatch.setenv("GRADER_WEAK_SANDBOX", "1")
    repo = Path(__file__).resolve().parents[2]
    course = load_course(repo / "course.toml")
    result = grade_submission(course, "tp3", repo / "reference_solutions" / "tp3" / "tp3.py",
                              student="referencia", backend="subprocess",
                              backend_options={"gpus": "1", "slot": 0})
    assert result.environment["gpus"] == "1" and result.environment["worker_cuda_available"]
    assert result.score == 10, [(c.id, c.message) for c in result.checks if c.credit < 1]


def test_gpu_tests_are_deselected_and_counted_where_torch_sees_no_cuda():
    import subprocess
    import sys

    import torch

    if torch.cuda.is_available():
        return  # a GPU machine runs them (the GPU lane)
    done = subprocess.run([sys.executable, "-m", "pytest", __file__, "-m", "gpu", "-q",
                           "-p", "no:cacheprovider"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert " deselected" in done.stdout and "passed" not in done.stdout, done.stdout
    assert "2 tests gpu no corrieron: torch.cuda.is_available() es False" in done.stdout
    required = subprocess.run([sys.executable, "-m", "pytest", __file__, "-m", "gpu", "-q",
                               "-p", "no:cacheprovider"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[2],
                              env={**os.environ, "GRADER_REQUIRE_GPU": "1"})
    assert required.returncode != 0 and "GRADER_REQUIRE_GPU=1" in required.stderr


def test_the_gpu_lane_script_grades_each_tp_on_cpu_and_with_one_gpu(tmp_path):
    # Only its dry run here (the real one grades for minutes, on a GPU machine).
    import subprocess
    import sys

    lane = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_lane.sh"
    env = {**os.environ, "PYTHON": sys.executable, "GPU_LANE_OUT": str(tmp_path), "JOBS": "3"}
    done = subprocess.run(["bash", str(lane), "--dry-run"], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if " -m grader.cli grade " in line]
    assert commands == [f"{sys.executable} -m grader.cli grade {tp} {tmp_path}/subs/{tp} --out "
                        f"{tmp_path}/{label} --jobs 3 --force{gpus}"
                        for tp in ("tp2", "tp3")
                        for label, gpus in (("cpu", ""), ("gpu", " --gpus 1"))]
    staged = sorted(p.name for p in (tmp_path / "subs" / "tp3").iterdir())
    assert "referencia.py" in staged and "ana_garcia.py" in staged
    assert subprocess.run(["bash", str(lane), "--help"], capture_output=True).returncode == 0
    assert subprocess.run(["bash", str(lane), "--gpu"], capture_output=True).returncode == 2
