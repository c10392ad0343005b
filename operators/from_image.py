"""From image: perceive → match in the worker, then fit, solve (core.pipeline's stages) and build the room here.

The worker runs the stages that need torch; the stages after them need Blender's mathutils and
the scene, so they run in this process, through the same pipeline functions the command line uses.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import bpy

from ..core import pipeline
from ..core.schema import Layout
from ..imaginarium_addon import layout_session, runs, worker_runtime
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
        # the perceive op's names (core/perception/worker_op.py); the library's classes are the detector's labels
        params = {"image": image, "out": str(run_dir), "library_dir": str(runs.library_dir())}
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


def _matched(job: Job) -> str | None:
    """The worker matched: place the room (raising on failure, so the Status says why and never "done")."""
    if job.state != "done":
        return None
    build_notes: list[str] = []
    coll, layout = place_run(job.params["run_dir"], job.params["library_dir"], notes=build_notes)
    worker_runtime.set_notes(run_notes(job.params["run_dir"], layout) + build_notes)
    return f"{len(layout.placements)} objects in {coll.name}"


def run_notes(run_dir: str | Path, layout: Layout) -> list[str]:
    """Every note of a run, once: perception's and matching's, the layout's, then each object's (named)."""
    from ..core.schema import CandidateSet, Observation

    found: list[str] = []
    for path, kind in ((Path(run_dir) / "observation.json", Observation), (Path(run_dir) / "candidates.json", CandidateSet)):
        try:
            found += list(kind.load(path).notes)
        except Exception:  # noqa: BLE001 — a damaged file must not hide the room that was built
            found.append(f"{path.name} could not be read for its notes")
    found += list(layout.notes)
    found += [f"{p.object_id}: {n}" for p in layout.placements for n in p.notes]
    return list(dict.fromkeys(found))


def place_run(run_dir: str | Path, library_dir: str | Path, progress: Callable[[float, str], None] | None = None,
              notes: list[str] | None = None) -> tuple[bpy.types.Collection, Layout]:
    """A perceived and matched run folder → its room in the scene: fit, solve and build.

    A run built before is not built again over the artist's work: its collection is re-optimised,
    keeping what they moved or pinned. Returns the collection and the layout it shows.
    """
    existing = layout_session.built_collection(run_dir)
    if existing is not None:
        return existing, layout_session.reoptimise_collection(existing, library_dir=library_dir)
    settings = layout_session.settings()
    pipeline.fit_stage(run_dir, library_dir, settings)
    layout = pipeline.solve_stage(run_dir, library_dir, settings)
    return layout_session.build_run(run_dir, library_dir, layout, progress, notes=notes), layout


CLASSES = [IMAGINARIUM_OT_run_from_image]
