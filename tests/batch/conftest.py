"""A local Ray cluster for the batch tests: started with `ray start --head` (2 CPUs), stopped after.

The batch commands run as `python -m core batch … --address 127.0.0.1:PORT` in subprocesses, so the
driver code is the one a user runs, and joining a cluster by address is exercised on the way.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ray_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pytest.importorskip("ray")
    home = tmp_path_factory.mktemp("rayhome")
    env = dict(os.environ, RAY_AUTH_MODE="disabled", HOME=str(home), RAY_USAGE_STATS_ENABLED="0")
    return env


@pytest.fixture(scope="session")
def ray_address(ray_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    ray_bin = str(Path(sys.executable).parent / "ray")
    temp = Path("/tmp") / f"rt{os.getpid()}"  # Ray's socket paths must stay short
    port = _free_port()
    start = subprocess.run([ray_bin, "start", "--head", "--num-cpus=2", "--num-gpus=0", f"--port={port}",
                            "--node-ip-address=127.0.0.1", "--include-dashboard=false", f"--temp-dir={temp}",
                            "--disable-usage-stats"], env=ray_env, capture_output=True, text=True, timeout=120)
    assert start.returncode == 0, start.stderr[-2000:]
    yield f"127.0.0.1:{port}"
    _stop_cluster(temp)
    shutil.rmtree(temp, ignore_errors=True)


def _stop_cluster(temp: Path) -> None:
    """Stop only this test's cluster: every process started with its temp folder (``ray stop`` would stop
    every Ray cluster of this user on the machine). The raylet takes its workers down with it."""
    import psutil

    procs = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(temp) in arg for arg in proc.info["cmdline"] or []):
                procs.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for proc in procs:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=15)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def run_batch(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core", "batch", *args, "--no-progress"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
