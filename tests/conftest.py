"""Shared test setup.

Blender writes to the user's config and cache folders; point them at a throw-away folder
before anything imports bpy. The repository root is also loaded as the package
``imaginarium`` so the add-on's relative imports (``..core``) work as in the installed
extension without a running Blender.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SANDBOX = Path(tempfile.mkdtemp(prefix="imaginarium-tests-"))
os.environ.setdefault("BLENDER_USER_RESOURCES", str(_SANDBOX / "blender-user"))
os.environ.setdefault("XDG_CACHE_HOME", str(_SANDBOX / "cache"))
os.environ.setdefault("XDG_CONFIG_HOME", str(_SANDBOX / "config"))
# The counting op used by worker and UI tests lives in testkit/ (not shipped); workers started by tests get it here.
# The worker puts its own root first on PYTHONPATH; the checkout follows so an installed extension's worker finds testkit.
os.environ["IMAGINARIUM_WORKER_EXTRA_OPS"] = "count_steps=testkit.worker_ops:count_steps"
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))


def load_extension_package() -> object:
    """The repo root as package ``imaginarium`` (what Blender calls bl_ext.<repo>.imaginarium)."""
    from scripts._package import load

    return load()


# Loaded before any test module, so tests import product code as ``imaginarium.core.…`` — the one
# name the add-on's own relative imports use. Importing it also as top-level ``core`` would create
# a second copy of every class (an ``except`` written against one would miss the other).
load_extension_package()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the product code was loaded under two names in this process."""
    both = sorted(name for name in sys.modules if name.startswith("core.") and "imaginarium." + name in sys.modules)
    if both:
        print(f"\nIMPORT IDENTITY BROKEN: loaded as both core.* and imaginarium.core.*: {both[:5]}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def ext_pkg() -> object:
    return load_extension_package()


@pytest.fixture(scope="session")
def sandbox() -> Path:
    return _SANDBOX


@pytest.fixture(scope="session")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension zip, built and validated by Blender's own extension command line."""
    out = tmp_path_factory.mktemp("dist")
    cli = ext_cli_path()
    subprocess.run([sys.executable, str(cli), "build", "--source-dir", str(ROOT), "--output-dir", str(out)],
                   check=True, capture_output=True, text=True)
    zips = list(out.glob("imaginarium-*.zip"))
    assert len(zips) == 1, zips
    return zips[0]


def ext_cli_path() -> Path:
    import importlib.util as u

    spec = u.find_spec("bpy")
    assert spec is not None and spec.origin, "bpy is not installed in this environment"
    return Path(spec.origin).parent / "4.3" / "scripts" / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


def run_blender_script(script: Path, *args: str, env: dict[str, str] | None = None,
                       timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a bpy script in a fresh interpreter (a clean Blender session per call)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


@pytest.fixture(scope="session")
def fixture_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The library helper's tiny library (4 assets), with derived data, built once per session."""
    from imaginarium.testkit.fixture_library import make_fixture_library

    return make_fixture_library(tmp_path_factory.mktemp("fixlib"), views=12, resolution=64)


@pytest.fixture(scope="session")
def demo_room(tmp_path_factory: pytest.TempPathFactory, fixture_library: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """scripts/demo.py run once on a 3-object room from the fixture library (small, few samples)."""
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--out", str(out), "--library",
                           str(fixture_library), "--max-objects", "3", "--width", "160", "--height", "120",
                           "--samples", "2"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    return out, proc
