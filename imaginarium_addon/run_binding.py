"""What binds a build to its run and to the artist's scene: the run folder's id, its photo, the camera rule.

Why: two run folders may share a name (``runs/image/photo-…`` on two machines, a copied
folder), so a collection is bound to the id stored *in* the folder (``run.json``), never to a
folder's name. A run's image path may be relative to its run folder (``image.png``) and must
not be resolved against Blender's working directory. And the artist's scene camera and render
size belong to the artist: the reference camera takes over only when asked, which by default
is only in a scene without a camera of its own.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import bpy

from ..core.errors import BadInputError
from . import layout_props as lp


def run_identity(run_dir: str | os.PathLike[str]) -> str:
    """The run folder's own id (``run.json`` ``{"run_id"}``), made once if the folder has none."""
    try:
        from ..core.runfolder import run_id
    except ImportError:  # an older core without run folders as transactions
        run_id = None
    if run_id is not None:
        return run_id(run_dir)
    path = Path(run_dir) / "run.json"
    data: dict = {}
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            data = {}
        if isinstance(data, dict) and data.get("run_id"):
            return str(data["run_id"])
    data = {**(data if isinstance(data, dict) else {}), "run_id": uuid.uuid4().hex}
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return data["run_id"]


def resolve_image(image: str | os.PathLike[str] | None, run_dir: str | os.PathLike[str] | None) -> str | None:
    """The reference image as an absolute path: as given when it exists, else inside the run folder.

    BadInputError when an image was named but exists in neither place.
    """
    if not image:
        return None
    path = Path(image)
    candidates = [path] if path.is_absolute() else ([Path(run_dir) / path] if run_dir else []) + [path]
    for c in candidates:
        if c.is_file():
            return str(c.resolve())
    raise BadInputError(f"The reference image {image} does not exist"
                        + (f" (looked in {run_dir} too)." if run_dir else "."),
                        "Pass the path of the image the layout was made from, or leave reference_image out.")


def has_own_camera(scene: bpy.types.Scene) -> bool:
    """True when the scene holds a camera that no Imaginarium build made (the artist's)."""
    return any(o.type == "CAMERA" and not o.get(lp.ROLE) for o in scene.objects)


def wants_reference_camera(scene: bpy.types.Scene) -> bool:
    """The reference camera takes over the scene's camera and render size only in a scene without a camera of
    the artist's (an empty scene); elsewhere the artist ticks *Use reference camera*."""
    return not has_own_camera(scene)
