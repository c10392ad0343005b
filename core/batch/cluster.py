"""Start a local Ray cluster or join one by address, with the repository importable on every worker.

Why a module: the same three lines (init, runtime environment, resources) would otherwise be
repeated by every batch command, and the defaults matter: a local cluster binds to 127.0.0.1
only and starts no dashboard, so a batch on a laptop opens nothing to the network.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import BadInputError, ImaginariumError

REPO_ROOT = Path(__file__).resolve().parents[2]


class RayMissingError(ImaginariumError):
    default_fix = "Install Ray: `pip install \"ray[default]\"` (the version pinned in requirements/constraints.txt)."


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayMissingError("Batch commands need Ray, and this Python does not have it.") from None
    return ray


@contextmanager
def ray_cluster(address: str | None = None, *, num_cpus: int | None = None, num_gpus: int | None = None,
                temp_dir: str | None = None) -> Iterator[Any]:
    """Yield the ``ray`` module connected to a cluster; a local one is shut down afterwards.

    ``address``: None starts a local cluster on this machine; ``auto`` or ``host:port`` joins a
    running one (``ray start --head``); ``ray://host:10001`` connects through Ray Client. Worker
    processes get this repository on ``PYTHONPATH`` so the stage functions import as ``core.*``
    (on a real cluster, every node needs the same checkout at the same path, or the code installed).
    """
    ray = _ray()
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    for name in ("IMAGINARIUM_CONFIG", "HF_HUB_OFFLINE", "ANTHROPIC_API_KEY", "DDS_API_TOKEN"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env}, "log_to_driver": False, "include_dashboard": False}
    if address:
        if address.startswith("ray://"):
            kwargs.pop("include_dashboard")
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BadInputError(f"Could not join the Ray cluster at {address}: {exc}",
                                "Check the address (`ray status` on the head node prints it), or leave "
                                "--address out to run on this machine.") from None
    else:
        ray.init(num_cpus=num_cpus, num_gpus=num_gpus, _node_ip_address="127.0.0.1", _temp_dir=temp_dir, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def gpu_count(ray: Any) -> float:
    """GPUs the cluster offers (0 on a CPU-only machine): decides whether model tasks ask for one."""
    return float(ray.cluster_resources().get("GPU", 0.0))
