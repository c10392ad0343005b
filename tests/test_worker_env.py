"""The preferences' worker-environment builder (a CommandChain): real child processes, polled without blocking."""
from __future__ import annotations

import subprocess
import sys
import time


def _run(builder, timeout_s: float = 120):
    builder.start()
    deadline = time.monotonic() + timeout_s
    while builder.poll() == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    return builder


def test_creates_a_working_environment(ext_pkg, tmp_path) -> None:
    from imaginarium.imaginarium_addon.worker_env import env_builder, env_python

    req = tmp_path / "req.txt"
    req.write_text("# nothing to install: the pip step must still run and succeed\n")
    b = _run(env_builder(tmp_path / "env", base_python=sys.executable, requirements=req, pip_args=["--no-index"]))
    assert b.state == "done", b.message
    assert b.fraction == 1.0
    out = subprocess.run([str(env_python(tmp_path / "env")), "-c", "import sys; print(sys.prefix)"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == str(tmp_path / "env")


def test_failed_install_says_how_to_do_it_by_hand(ext_pkg, tmp_path) -> None:
    from imaginarium.imaginarium_addon.worker_env import env_builder, failure

    req = tmp_path / "req.txt"
    req.write_text("surely-not-a-real-package-name-xyz==0.0.1\n")
    b = _run(env_builder(tmp_path / "env", base_python=sys.executable, requirements=req, pip_args=["--no-index"]))
    assert b.state == "failed"
    err = failure(b, tmp_path / "env")
    assert "Step 2 failed" in err.message and "-m venv" in err.fix and "worker_requirements.txt" not in err.message


def test_shipped_requirements_match_the_project_pins(ext_pkg) -> None:
    from tests.conftest import ROOT

    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    for line in (ROOT / "imaginarium_addon" / "worker_requirements.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            assert pins.get(name.lower()) == version, f"{name}: worker {version} vs constraints {pins.get(name.lower())}"
