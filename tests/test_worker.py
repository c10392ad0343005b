"""The worker as a real subprocess, driven through the client's non-blocking poll step."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT


@pytest.fixture()
def client(ext_pkg):
    from imaginarium.imaginarium_addon.worker_client import WorkerClient

    c = WorkerClient(python=sys.executable, root=ROOT, default_timeout_s=30)
    yield c
    c.stop()


def test_ping_answers_with_the_worker_identity(client) -> None:
    job = client.wait(client.submit("ping", {"echo": "hi"}), timeout_s=30)
    assert job.state == "done", job.error
    assert job.result["echo"] == "hi" and job.result["pid"] != os.getpid()


def test_progress_events_arrive_one_per_step(client) -> None:
    job = client.submit("count_steps", {"steps": 4, "delay_s": 0.01})
    fractions = []
    deadline = time.monotonic() + 30
    while not job.finished and time.monotonic() < deadline:
        fractions += [e["fraction"] for e in client.poll() if e.get("type") == "progress"]
        time.sleep(0.005)
    assert job.state == "done" and job.result == {"steps": 4}
    assert fractions == [0.25, 0.5, 0.75, 1.0]


def test_cancel_stops_between_steps(client) -> None:
    job = client.submit("count_steps", {"steps": 200, "delay_s": 0.05})
    while job.progress == 0 and not job.finished:
        client.poll()
        time.sleep(0.01)
    client.cancel(job.id)
    client.wait(job, timeout_s=10)
    assert job.state == "cancelled" and job.error.kind == "CancelledError"
    assert job.progress < 0.5
    after = client.wait(client.submit("ping"), timeout_s=10)  # the worker stays up
    assert after.state == "done"


def test_errors_in_ops_become_error_events(client) -> None:
    bad = client.wait(client.submit("count_steps", {"steps": "lots"}), timeout_s=30)
    assert bad.state == "failed" and bad.error.kind == "BadInputError" and bad.error.fix
    unknown = client.wait(client.submit("no_such_op"), timeout_s=10)
    assert unknown.state == "failed" and "no_such_op" in unknown.error.message


def test_malformed_line_is_answered_and_the_worker_stays_up() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "core.worker"], cwd=ROOT, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write('this is not json\n[1,2]\n{"op":"ping"}\n{"id":"a","op":"ping","params":{}}\n')
    proc.stdin.flush()
    events = [json.loads(proc.stdout.readline()) for _ in range(4)]
    proc.stdin.close()  # end of input: the worker exits
    assert proc.wait(timeout=30) == 0
    assert [e["type"] for e in events[:3]] == ["error", "error", "error"]
    assert "Malformed" in events[0]["error"]["message"]
    assert events[3]["id"] == "a" and events[3]["type"] == "result"
    assert "worker started" in proc.stderr.read()  # logs go to stderr, never stdout


def test_killed_worker_is_reported_with_its_stderr(client) -> None:
    job = client.submit("count_steps", {"steps": 500, "delay_s": 0.05})
    while job.progress == 0:
        client.poll()
        time.sleep(0.01)
    os.kill(client._proc.pid, signal.SIGKILL)
    client.wait(job, timeout_s=10)
    assert job.state == "failed" and job.error.kind == "WorkerDiedError"
    assert "exit code -9" in job.error.message and "worker started" in job.error.message
    assert not client.alive
    again = client.wait(client.submit("ping"), timeout_s=30)  # a new worker starts on the next job
    assert again.state == "done"


def test_time_limit_cancels_the_job(client) -> None:
    job = client.submit("count_steps", {"steps": 500, "delay_s": 0.02}, timeout_s=0.5)
    client.wait(job, timeout_s=10)
    assert job.state == "failed" and job.error.kind == "JobTimeoutError"


def test_missing_interpreter_is_a_clear_error(ext_pkg, tmp_path) -> None:
    from imaginarium.core.errors import WorkerError
    from imaginarium.imaginarium_addon.worker_client import WorkerClient

    with pytest.raises(WorkerError, match="Worker Python"):
        WorkerClient(python=str(tmp_path / "nope" / "python"), root=ROOT).submit("ping")


def test_stop_ends_the_process(client) -> None:
    client.wait(client.submit("ping"), timeout_s=30)
    proc = client._proc
    client.stop()
    assert proc.poll() is not None


def test_dropped_variables_never_reach_the_worker(ext_pkg, monkeypatch) -> None:
    from imaginarium.imaginarium_addon.worker_client import WorkerClient

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-shell")
    c = WorkerClient(python=sys.executable, root=ROOT, drop_env=("ANTHROPIC_API_KEY",), env={"X_MARK": "1"})
    try:
        job = c.wait(c.submit("ping", {"env": ["ANTHROPIC_API_KEY", "X_MARK"]}), timeout_s=30)
    finally:
        c.stop()
    assert job.result["env"] == {"ANTHROPIC_API_KEY": False, "X_MARK": True}


def test_a_missing_library_in_the_worker_says_which_and_what_to_do(monkeypatch) -> None:
    import io

    from imaginarium.core.worker import registry
    from imaginarium.core.worker.context import JobContext
    from imaginarium.core.worker.server import Worker

    monkeypatch.setitem(registry.OPS, "needs_lib", "tests.worker_fixture_ops:needs_a_missing_library")
    out = io.StringIO()
    worker = Worker(io.StringIO(""), out)
    worker._jobs.put(("j", "needs_lib", {}, JobContext("j", worker.emit)))  # the job loop, as serve() runs it
    worker._jobs.put(None)
    worker._run_jobs()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    err = events[-1]["error"]
    assert events[-1]["type"] == "error" and err["kind"] == "WorkerError"
    assert "imaginarium_no_such_library" in err["message"] and "Create Worker Environment" in err["fix"]


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.cuda.OutOfMemoryError: a RuntimeError subclass of that name, not a MemoryError."""


def _cuda_oom(params, ctx):
    raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def _host_oom(params, ctx):
    raise MemoryError()


def test_out_of_memory_in_an_op_says_what_to_change(monkeypatch) -> None:
    import io

    from imaginarium.core.worker import registry
    from imaginarium.core.worker.context import JobContext
    from imaginarium.core.worker.server import Worker

    monkeypatch.setitem(registry.OPS, "gpu_oom", f"{__name__}:_cuda_oom")
    monkeypatch.setitem(registry.OPS, "host_oom", f"{__name__}:_host_oom")
    out = io.StringIO()
    worker = Worker(io.StringIO(""), out)
    for op in ("gpu_oom", "host_oom"):
        worker._jobs.put((op, op, {}, JobContext(op, worker.emit)))
    worker._jobs.put(None)
    worker._run_jobs()
    errors = {e["id"]: e["error"] for e in map(json.loads, out.getvalue().splitlines()) if e["type"] == "error"}
    assert "out of GPU memory while running gpu_oom" in errors["gpu_oom"]["message"]
    assert "out of main memory while running host_oom" in errors["host_oom"]["message"]
    for err in errors.values():
        assert err["kind"] == "WorkerError" and "Memory mode" in err["fix"] and "report" not in err["fix"]
