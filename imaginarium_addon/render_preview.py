"""Render Preview: the built room from the reference camera, small and denoised, next to the photo.

Why a preview of its own: F12 renders whatever the artist's scene is set to (its camera, its
size, EEVEE perhaps); the question "does the room look like the photo?" needs the run's camera,
the run's lights and a few seconds at most. So the render happens in a throw-away scene that
links the run's collection: the artist's render settings, camera and other objects are never
touched. What the artist would see is kept where it matters for the comparison: the scene's
colour management (view transform, look, exposure), its world, and its Cycles light-path
bounces, so the preview's brightness is F12's brightness.

The same render at a thumbnail size measures the median luminance that
:func:`lights.fit_exposure` matches to the photo's.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from ..core import schema
from ..core.errors import BadInputError
from . import camera_setup, layout_props as lp, lights
from .render_passes import _quiet_stdout

REFERENCE = lp.PREFIX + "reference_image"   # absolute path of the photo, on the run collection
PREVIEW_IMAGE = "Imaginarium preview"
_BOUNCES = ("max_bounces", "diffuse_bounces", "glossy_bounces", "transmission_bounces", "volume_bounces",
            "transparent_max_bounces")


@dataclass
class PreviewResult:
    """What a preview wrote and measured (medians are linear luminance of the display-encoded images)."""

    render_path: Path
    side_by_side_path: Path | None
    seconds: float
    median_render: float
    median_photo: float | None
    width: int
    height: int
    samples: int
    image_name: str | None = None

    @property
    def ratio(self) -> float | None:
        """render median / photo median (1.0 is a perfect match)."""
        if self.median_photo is None or self.median_photo <= 0:
            return None
        return self.median_render / self.median_photo


def reference_of(coll: bpy.types.Collection) -> str | None:
    """The run's reference photo, when its file still exists."""
    path = str(coll.get(REFERENCE, "") or "")
    return path if path and Path(path).is_file() else None


def render_view(coll: bpy.types.Collection, path: str | Path, *, width: int = 320, samples: int = 16,
                denoise: bool = True, source: bpy.types.Scene | None = None, threads: int = 0) -> tuple[int, int]:
    """Render the run from its camera into ``path`` (PNG) at ``width`` pixels; the image size.

    ``source``: the scene whose colour management, world and bounces the render copies
    (default: the context scene). ``threads`` 0 = Blender's automatic count.
    """
    cam_obj = lp.camera_object(coll)
    if cam_obj is None:
        raise BadInputError(f"{coll.name} has no reference camera.",
                            "Build the room from a photo (the layout needs a camera) and try again.")
    cam = camera_setup.read_camera(cam_obj, schema.Camera)
    source = source or bpy.context.scene
    tmp = bpy.data.scenes.new("imaginarium_preview")
    try:
        tmp.collection.children.link(coll)
        tmp.camera = cam_obj
        camera_setup.set_render_size(tmp, cam)
        r = tmp.render
        r.resolution_x = max(8, int(width))
        r.resolution_y = max(8, round(cam.height * r.resolution_x / cam.width))
        _copy_look(source, tmp)
        tmp.render.engine = "CYCLES"
        tmp.cycles.device = source.cycles.device if source.render.engine == "CYCLES" else "CPU"
        tmp.cycles.samples = int(samples)
        tmp.cycles.use_adaptive_sampling = False
        tmp.cycles.use_denoising = bool(denoise)
        if denoise:
            tmp.cycles.denoiser = "OPENIMAGEDENOISE"
        if threads:
            r.threads_mode, r.threads = "FIXED", int(threads)
        r.film_transparent = False
        r.image_settings.file_format = "PNG"
        r.image_settings.color_mode = "RGB"
        r.image_settings.color_depth = "8"
        r.filepath = str(path)
        with _quiet_stdout():  # Cycles prints a status line per tile
            bpy.ops.render.render(write_still=True, scene=tmp.name)
        return r.resolution_x, r.resolution_y
    finally:
        bpy.data.scenes.remove(tmp)


def _copy_look(source: bpy.types.Scene, target: bpy.types.Scene) -> None:
    """Colour management, world and light-path bounces as the artist's scene has them."""
    target.display_settings.display_device = source.display_settings.display_device
    vs, vt = source.view_settings, target.view_settings
    vt.view_transform = vs.view_transform
    try:
        vt.look = vs.look
    except TypeError:  # a look that does not exist for this transform
        pass
    vt.exposure, vt.gamma = vs.exposure, vs.gamma
    target.world = source.world
    for name in _BOUNCES:
        setattr(target.cycles, name, getattr(source.cycles, name))
    target.cycles.film_exposure = source.cycles.film_exposure


def image_median(path: str | Path) -> float:
    """Median linear luminance of an 8-bit image file (sRGB-encoded, as photos and PNG renders are)."""
    image = bpy.data.images.load(str(path), check_existing=False)
    try:
        if image.size[0] == 0:
            raise BadInputError(f"Cannot read {path}.", "Give an existing PNG or JPEG file.")
        return lights.median_luminance(image.pixels[:], image.channels)
    finally:
        bpy.data.images.remove(image)


def measure_median(coll: bpy.types.Collection, *, width: int = 64, samples: int = 8,
                   source: bpy.types.Scene | None = None, threads: int = 0) -> float:
    """The median luminance of a thumbnail render (what exposure fitting compares with the photo)."""
    with tempfile.TemporaryDirectory(prefix="imaginarium-exposure-") as tmp:
        out = Path(tmp) / "thumb.png"
        render_view(coll, out, width=width, samples=samples, source=source, threads=threads)
        return image_median(out)


def fit_to_photo(coll: bpy.types.Collection, photo: str | Path | None = None, *, notes: list[str] | None = None,
                 source: bpy.types.Scene | None = None, width: int = 64, samples: int = 8,
                 threads: int = 0) -> float | None:
    """Scale the run's lights so a thumbnail render's median luminance matches the photo's; the scale.

    None (and nothing changed) when the run has no camera or no photo to match.
    """
    photo = photo or reference_of(coll)
    if photo is None or lp.camera_object(coll) is None or lights.lights_collection(coll) is None:
        return None
    target = image_median(photo)
    return lights.fit_exposure(coll, target, lambda: measure_median(coll, width=width, samples=samples, source=source,
                                                                    threads=threads), notes=notes)


def render_preview(coll: bpy.types.Collection, out_path: str | Path, *, width: int = 320, samples: int = 16,
                   denoise: bool = True, source: bpy.types.Scene | None = None, threads: int = 0,
                   side_by_side: bool = True) -> PreviewResult:
    """Render the run from its camera into ``out_path``; put the photo behind the camera and beside the render.

    Writes ``<out>_side_by_side.png`` (photo left, render right) and keeps it as the image
    datablock "Imaginarium preview" for an image editor.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    photo = reference_of(coll)
    cam_obj = lp.camera_object(coll)
    if photo is not None and cam_obj is not None:
        camera_setup.set_background(cam_obj, photo)
    started = time.perf_counter()
    w, h = render_view(coll, out, width=width, samples=samples, denoise=denoise, source=source, threads=threads)
    seconds = time.perf_counter() - started
    median = image_median(out)
    result = PreviewResult(out, None, seconds, median, image_median(photo) if photo else None, w, h, int(samples))
    if side_by_side:
        pair = out.with_name(out.stem + "_side_by_side.png")
        result.image_name = compose_side_by_side(photo, out, pair)
        result.side_by_side_path = pair
    return result


def compose_side_by_side(photo: str | Path | None, render: str | Path, out: str | Path) -> str:
    """Photo (scaled to the render's height) | render, saved to ``out``; the image datablock's name."""
    rendered = bpy.data.images.load(str(render), check_existing=False)
    parts = []
    loaded = [rendered]
    try:
        rw, rh = rendered.size
        if photo is not None:
            pic = bpy.data.images.load(str(photo), check_existing=False)
            loaded.append(pic)
            pw, ph = pic.size
            pic.scale(max(1, round(pw * rh / max(ph, 1))), rh)
            parts.append(_rgba(pic))
        parts.append(_rgba(rendered))
        gap = np.ones((rh, 6, 4), dtype=np.float32)
        joined = parts[0] if len(parts) == 1 else np.concatenate([parts[0], gap, parts[1]], axis=1)
    finally:
        for image in loaded:
            bpy.data.images.remove(image)
    image = bpy.data.images.get(PREVIEW_IMAGE)
    if image is not None and (image.size[0], image.size[1]) != (joined.shape[1], joined.shape[0]):
        bpy.data.images.remove(image)
        image = None
    if image is None:
        image = bpy.data.images.new(PREVIEW_IMAGE, joined.shape[1], joined.shape[0], alpha=False)
    image.pixels.foreach_set(joined.astype(np.float32).ravel())
    image.filepath_raw, image.file_format = str(out), "PNG"
    image.save()
    image.filepath_raw = str(out)
    return image.name


def _rgba(image: bpy.types.Image) -> np.ndarray:
    """(H, W, 4) float pixels, bottom row first as Blender stores them; alpha set to 1."""
    w, h = image.size
    px = np.empty(w * h * image.channels, dtype=np.float32)
    image.pixels.foreach_get(px)
    px = px.reshape(h, w, image.channels)
    rgb = px[..., :3] if image.channels >= 3 else np.repeat(px[..., :1], 3, axis=2)
    return np.concatenate([rgb, np.ones((h, w, 1), dtype=np.float32)], axis=2)


def show_in_image_editor(context: Any, image_name: str) -> bool:
    """Show the preview in an image editor: an open one, else the render window Blender opens. True if shown."""
    image = bpy.data.images.get(image_name)
    if image is None:
        return False
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                area.tag_redraw()
                return True
    try:
        bpy.ops.render.view_show("INVOKE_DEFAULT")
    except RuntimeError:
        return False
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                return True
    return False
