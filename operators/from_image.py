"""From image: perceive → match in the worker, then solve and build the room here, in a new collection."""
from __future__ import annotations

import os

import bpy

from ..imaginarium_addon import runs, worker_runtime
from ..imaginarium_addon.worker_client import Job
from .common import submit


class IMAGINARIUM_OT_run_from_image(bpy.types.Operator):
    """Turn the image into a furnished room from your asset library (runs in the worker; cancellable)"""

    bl_idname = "imaginarium.run_from_image"
    bl_label = "Build Room From Image"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        s = context.scene.imaginarium
        if worker_runtime.current_job() is not None:
            cls.poll_message_set("Another job is running; wait or cancel it")
            return False
        if not s.image_path or not os.path.isfile(bpy.path.abspath(s.image_path)):
            cls.poll_message_set("Choose an image file (or generate one)")
            return False
        if runs.library_dir() is None:
            cls.poll_message_set("Set the asset library folder in the add-on preferences")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        s = context.scene.imaginarium
        image = bpy.path.abspath(s.image_path)
        depth = bpy.path.abspath(s.depth_path) if s.depth_path else ""
        detections = bpy.path.abspath(s.detections_path) if s.detections_path else ""
        for label, path in (("Depth map", depth), ("Detections", detections)):
            if path and not os.path.isfile(path):
                self.report({"ERROR"}, f"{label} file {path} does not exist; clear the field or pick the file")
                return {"CANCELLED"}
        try:
            run_dir = runs.run_dir_for("scene", {"fov": s.fov_deg}, [image, depth, detections])
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot read the inputs or write the run folder: {exc}")
            return {"CANCELLED"}
        s.last_run_dir = str(run_dir)
        params = {"image": image, "out": str(run_dir)}  # the perceive op's names (core/perception/worker_op.py)
        if depth:
            params["depth"] = depth
        if detections:
            params["detections"] = detections
        if s.fov_deg > 0:
            params["fov"] = s.fov_deg
        return submit(self, "perceive", params, "Reading the image", on_done=_perceived)


def _perceived(job: Job) -> None:
    if job.state != "done":
        return
    params = {"run_dir": job.params["out"], "library_dir": str(runs.library_dir())}
    worker_runtime.submit("match", params, "Finding assets", on_done=_matched)


def _matched(job: Job) -> None:
    if job.state != "done":
        return
    from ..imaginarium_addon import layout_session

    layout_session.solve_and_build(job.params["run_dir"], job.params["library_dir"])


CLASSES = [IMAGINARIUM_OT_run_from_image]
