"""Worker actions: check it answers, cancel the current job, stop it."""
from __future__ import annotations

import bpy

from ..imaginarium_addon import worker_runtime
from .common import submit


class IMAGINARIUM_OT_ping_worker(bpy.types.Operator):
    """Start the worker if needed and check that it answers"""

    bl_idname = "imaginarium.ping_worker"
    bl_label = "Check Worker"

    def execute(self, context: bpy.types.Context) -> set[str]:
        return submit(self, "ping", {}, "Checking the worker", on_done=_report_ping)


def _report_ping(job: worker_runtime.Job) -> None:
    if job.result:
        status = bpy.context.window_manager.imaginarium_status
        torch = "torch found" if job.result.get("torch_installed") else "no torch: models will not run"
        status.message = f"worker ready: Python {job.result.get('python')}, {torch}"


class IMAGINARIUM_OT_cancel_job(bpy.types.Operator):
    """Cancel the running job at its next step"""

    bl_idname = "imaginarium.cancel_job"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if worker_runtime.current_job() is None and not _running_chains():
            cls.poll_message_set("No job is running")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        worker_runtime.cancel_current()
        for chain in _running_chains():  # a library build or worker-environment creation
            chain.cancel()
        return {"FINISHED"}


def _running_chains() -> list:
    from . import library_ops, worker_env_ops

    return [c for c in (library_ops.build_state(), worker_env_ops.builder()) if c is not None and c.state == "running"]


class IMAGINARIUM_OT_stop_worker(bpy.types.Operator):
    """Stop the worker process and free its memory (models load again on the next job)"""

    bl_idname = "imaginarium.stop_worker"
    bl_label = "Stop Worker"

    def execute(self, context: bpy.types.Context) -> set[str]:
        worker_runtime.stop()
        context.window_manager.imaginarium_status.worker_state = "stopped"
        return {"FINISHED"}


CLASSES = [IMAGINARIUM_OT_ping_worker, IMAGINARIUM_OT_cancel_job, IMAGINARIUM_OT_stop_worker]
