"""Worker op ``perceive``: the pipeline with progress and cancellation through the JobContext.

params: ``image``, ``out`` (run folder), optional ``depth``, ``intrinsics`` [fx, fy, cx, cy],
``detections``, ``fov``, ``labels`` [str], ``library_dir`` (the asset library: the detector looks
for its classes, the VLM's size verdicts use its sizes), ``clean`` (bool), ``config`` (TOML path)
and ``secrets`` (``{"anthropic_api_key": …, "dds_api_token": …}`` from the add-on preferences).
The result carries the run folder's ``run_id``, which the Blender side binds its collection to.
"""
from __future__ import annotations

from typing import Any

from ..config import Secrets, Settings
from ..errors import BadInputError


def perceive_op(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    from ..runfolder import run_id
    from .pipeline import perceive

    for name in ("image", "out"):
        if not isinstance(params.get(name), str) or not params[name]:
            raise BadInputError(f"perceive needs a string {name!r} parameter.", "Pass the image path and run folder.")
    intr = params.get("intrinsics")
    if intr is not None and (not isinstance(intr, (list, tuple)) or len(intr) != 4):
        raise BadInputError(f"intrinsics = {intr!r} must be [fx, fy, cx, cy].", "Pass four numbers or leave it out.")
    library = params.get("library_dir")
    if library is not None and (not isinstance(library, str) or not library):
        raise BadInputError(f"library_dir = {library!r} must be a library folder path.",
                            "Set the asset library folder in the add-on preferences, or leave it out.")
    settings = Settings.load(params.get("config"))
    secrets = Secrets.gather(preferences=params.get("secrets") or {})
    obs = perceive(params["image"], params["out"], settings, secrets, depth_path=params.get("depth"),
                   intrinsics=tuple(intr) if intr else None, detections_path=params.get("detections"),
                   fov_deg=params.get("fov"), labels=params.get("labels"), library=library, ctx=ctx,
                   clean=bool(params.get("clean")))
    return {"run_dir": params["out"], "run_id": run_id(params["out"]), "observation": "observation.json",
            "objects": len(obs.graph.objects), "planes": [p.id for p in obs.planes], "scene_graph": obs.graph.source,
            "notes": list(obs.notes)}
