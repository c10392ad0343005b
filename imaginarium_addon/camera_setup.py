"""A Blender camera that reproduces a schema.Camera (OpenCV pinhole) pixel for pixel, and back.

Why the care: the built room is compared with the reference photo from this camera, and
the render passes stand in for perception, so a half-pixel error in the principal point
shows up everywhere downstream.

Conversions (Blender's view plane, ``BKE_camera_params_compute_viewplane``):

* Axes: OpenCV camera x right, y down, z forward; a Blender camera looks down its −Z with
  +Y up, so ``matrix_world = world_from_camera @ diag(1, −1, −1, 1)``.
* Sensor fit HORIZONTAL with sensor width ``SENSOR_MM``: ``lens = fx · SENSOR_MM / width``.
* Non-square pixels (fx ≠ fy) through the render's pixel aspect: Blender's
  ``ycor = aspect_y / aspect_x`` must equal ``fx / fy`` (both aspects stay >= 1).
* Principal point through lens shift (in units of the image width):
  ``shift_x = (width/2 − cx) / width`` and ``shift_y = (cy − height/2) · ycor / width``.
"""
from __future__ import annotations

import json
from typing import Any

import bpy
from mathutils import Matrix

from ..core.errors import BadInputError
from .layout_props import CAMERA, ROLE, matrix_from_rows, rows_from_matrix

SENSOR_MM = 36.0
CV_TO_BLENDER = Matrix.Diagonal((1.0, -1.0, -1.0, 1.0))


def blender_params(cam: Any) -> dict[str, float]:
    """Lens, sensor, shifts and pixel aspect for a schema.Camera."""
    ycor = cam.fx / cam.fy
    return {
        "lens": cam.fx * SENSOR_MM / cam.width,
        "sensor_width": SENSOR_MM,
        "shift_x": (cam.width / 2.0 - cam.cx) / cam.width,
        "shift_y": (cam.cy - cam.height / 2.0) * ycor / cam.width,
        "pixel_aspect_x": max(1.0, 1.0 / ycor),
        "pixel_aspect_y": max(1.0, ycor),
        "ycor": ycor,
    }


def apply_camera(obj: bpy.types.Object, cam: Any, scene: bpy.types.Scene | None = None) -> None:
    """Pose and intrinsics onto a camera object; the scene's render size when ``scene`` is given."""
    p = blender_params(cam)
    data = obj.data
    data.type = "PERSP"
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = p["sensor_width"]
    data.lens_unit = "MILLIMETERS"
    data.lens = p["lens"]
    data.shift_x, data.shift_y = p["shift_x"], p["shift_y"]
    data.clip_start, data.clip_end = 0.01, 200.0
    obj.matrix_world = matrix_from_rows(cam.world_from_camera) @ CV_TO_BLENDER
    obj[ROLE] = "camera"
    obj[CAMERA] = json.dumps({"width": cam.width, "height": cam.height, "ycor": p["ycor"]})
    if scene is not None:
        set_render_size(scene, cam)


def set_render_size(scene: bpy.types.Scene, cam: Any) -> None:
    """Resolution and pixel aspect that make the view plane match ``cam``."""
    p = blender_params(cam)
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = cam.width, cam.height, 100
    r.pixel_aspect_x, r.pixel_aspect_y = p["pixel_aspect_x"], p["pixel_aspect_y"]


def read_camera(obj: bpy.types.Object, camera_cls: Any) -> Any:
    """The schema.Camera a (possibly artist-adjusted) camera object shows, at its built image size."""
    info = json.loads(obj.get(CAMERA, "{}") or "{}")
    if not info:
        raise BadInputError(f"Camera {obj.name} was not built by Imaginarium (no {CAMERA} property).",
                            "Rebuild the run, or pick the camera inside the run's collection.")
    width, height, ycor = int(info["width"]), int(info["height"]), float(info["ycor"])
    data = obj.data
    if data.sensor_fit not in ("HORIZONTAL", "AUTO") or (data.sensor_fit == "AUTO" and width < height * ycor):
        raise BadInputError(f"Camera {obj.name} uses sensor fit {data.sensor_fit}.",
                            "Set its Sensor Fit back to Horizontal (the fit Imaginarium builds with).")
    fx = data.lens * width / data.sensor_width
    fy = fx / ycor
    cx = width / 2.0 - data.shift_x * width
    cy = height / 2.0 + data.shift_y * width / ycor
    loc, rot, _ = obj.matrix_world.decompose()  # drop any scale the artist gave the camera object
    pose = Matrix.LocRotScale(loc, rot, None) @ CV_TO_BLENDER
    return camera_cls(fx=fx, fy=fy, cx=cx, cy=cy, width=width, height=height,
                      world_from_camera=rows_from_matrix(pose))


def set_background(obj: bpy.types.Object, image_path: str) -> bpy.types.Image:
    """Show the reference image behind the camera view for comparison."""
    try:
        image = bpy.data.images.load(str(image_path), check_existing=True)
    except RuntimeError:
        raise BadInputError(f"Cannot read the reference image {image_path}.",
                            "Give an existing PNG or JPEG file as the reference image.") from None
    data = obj.data
    data.show_background_images = True
    bg = data.background_images[0] if len(data.background_images) else data.background_images.new()
    bg.image = image
    bg.alpha = 0.5
    bg.frame_method = "STRETCH"
    bg.display_depth = "BACK"
    return image
