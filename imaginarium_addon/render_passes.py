"""Render a built run from its camera: RGB (Cycles, CPU), metric depth (.npy) and instance masks (PNGs).

Why these passes: the offline demo has no perception models, so a generated room rendered
this way stands in for them — the RGB is the "photo", the depth and masks are what a depth
model and a detector would have produced. The demo says so in its output.

How: RGB is a real Cycles render (few samples, OpenImageDenoise, box filter of one pixel so each
pixel averages its own square). Depth and masks are cast, not rendered: one ray per pixel
centre through Blender's BVH of the evaluated, world-space triangles, using the camera as
:func:`camera_setup.read_camera` reads it back — the same pinhole model the schema uses,
so depth is exactly the z-depth along the optical axis in metres (0 where a ray hits
nothing), every pixel belongs to at most one object (masks are disjoint by construction),
and no EXR reader is needed. Render settings live on a throw-away scene that links the
run's collection, so the artist's scene and its render settings are untouched.
"""
from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import bpy
import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from ..core import schema
from ..core.errors import BadInputError
from . import camera_setup, layout_props as lp
from .room_meshes import ceiling_height, floor_height


@dataclass
class RenderedPasses:
    """Paths of what :func:`render_passes` wrote (masks only for objects that are visible)."""

    rgb: Path | None
    depth: Path
    masks: dict[str, Path] = field(default_factory=dict)
    camera: Any = None


def render_passes(collection: bpy.types.Collection, out_dir: str | Path, *, samples: int = 8, rgb: bool = True,
                  light_w: float = 150.0, threads: int = 2, denoise: bool = True, own_lights: bool = False,
                  progress: Callable[[float, str], None] | None = None) -> RenderedPasses:
    """Write ``rgb.png``, ``depth.npy`` (float32, H×W metres) and ``masks/<object_id>.png`` into ``out_dir``.

    The RGB is lit by a fixed stand-in (a grey world and a ``light_w`` point light under the
    ceiling) so a generated "photo" does not depend on the build's light rig; ``own_lights``
    renders with the run's own lights instead (and no stand-in). ``progress(fraction, message)``
    is called between the steps.
    """
    report = progress or (lambda fraction, message: None)
    cam_obj = lp.camera_object(collection)
    if cam_obj is None:
        raise BadInputError(f"Collection {collection.name} has no Imaginarium camera.",
                            "Build the run from a Layout that has a camera.")
    cam = camera_setup.read_camera(cam_obj, schema.Camera)
    out = Path(out_dir)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    tmp = bpy.data.scenes.new("imaginarium_render")
    extras: list[Any] = []
    try:
        tmp.collection.children.link(collection)
        _exclude_run_lights(tmp, collection, exclude=not own_lights)
        tmp.camera = cam_obj
        camera_setup.set_render_size(tmp, cam)
        view_layer = tmp.view_layers[0]
        view_layer.update()
        report(0.0, "casting depth and instance masks")
        depth, owner, ids = _cast(collection, view_layer.depsgraph, cam)
        np.save(out / "depth.npy", depth)
        masks = {}
        for index, object_id in enumerate(ids):
            mask = owner == index
            if mask.any():
                masks[object_id] = out / "masks" / f"{object_id}.png"
                write_png_gray(masks[object_id], mask.astype(np.uint8) * 255)
        rgb_path = None
        if rgb:
            report(0.3, f"rendering RGB with Cycles ({samples} samples)")
            extras = [] if own_lights else _stage_lighting(tmp, collection, light_w)
            rgb_path = out / "rgb.png"
            _render_rgb(tmp, rgb_path, samples, threads, denoise)
    finally:
        bpy.data.scenes.remove(tmp)
        for owner, block in extras:
            owner.remove(block)
    report(1.0, "render passes written")
    return RenderedPasses(rgb=rgb_path, depth=out / "depth.npy", masks=masks, camera=cam)


def _exclude_run_lights(scene: bpy.types.Scene, collection: bpy.types.Collection, exclude: bool) -> None:
    """Leave the run's lights collection out of this (temporary) scene's view layer; the collection is untouched."""
    from .lights import lights_collection

    lights = lights_collection(collection)
    if lights is None:
        return
    stack = [scene.view_layers[0].layer_collection]
    while stack:
        layer = stack.pop()
        if layer.collection == lights:
            layer.exclude = exclude
            return
        stack.extend(layer.children)


def pixel_rays(cam: Any) -> tuple[np.ndarray, np.ndarray]:
    """World ray directions (H, W, 3) through pixel centres, and their camera-z per unit length.

    Pixel (i, j) covers [i, i+1] x [j, j+1] (origin at the image's top-left corner), so its
    centre is (i + 0.5, j + 0.5); the OpenCV direction is ((u − cx)/fx, (v − cy)/fy, 1).
    """
    u = np.arange(cam.width) + 0.5
    v = np.arange(cam.height) + 0.5
    uu, vv = np.meshgrid(u, v)
    d_cam = np.stack([(uu - cam.cx) / cam.fx, (vv - cam.cy) / cam.fy, np.ones_like(uu)], axis=-1)
    norm = np.linalg.norm(d_cam, axis=-1)
    rot = np.asarray(cam.world_from_camera, dtype=np.float64)[:3, :3]
    return (d_cam / norm[..., None]) @ rot.T, 1.0 / norm


def _cast(collection: bpy.types.Collection, depsgraph: Any, cam: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """z-depth and owner index per pixel (−1: no placement object) by ray casting."""
    verts, tris, tri_owner, ids = _world_triangles(collection, depsgraph)
    depth = np.zeros((cam.height, cam.width), dtype=np.float32)
    owner = np.full((cam.height, cam.width), -1, dtype=np.int32)
    if not len(tris):
        return depth, owner, ids
    tree = BVHTree.FromPolygons(verts.tolist(), tris.tolist(), all_triangles=True)
    dirs, z_per_m = pixel_rays(cam)
    origin = Vector(np.asarray(cam.world_from_camera, dtype=np.float64)[:3, 3].tolist())
    for j in range(cam.height):
        for i in range(cam.width):
            hit, _normal, index, dist = tree.ray_cast(origin, Vector(dirs[j, i].tolist()))
            if hit is not None:
                depth[j, i] = dist * z_per_m[j, i]
                owner[j, i] = tri_owner[index]
    return depth, owner, ids


def _world_triangles(collection: bpy.types.Collection,
                     depsgraph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """All renderable triangles of the collection in world space; owner = placement index or −1."""
    ids: list[str] = []
    verts_parts, tri_parts, owner_parts = [], [], []
    offset = 0
    for obj in collection.all_objects:
        if obj.type not in ("MESH", "CURVE", "SURFACE", "META", "FONT") or obj.hide_render:
            continue
        evaluated = obj.evaluated_get(depsgraph)
        mesh = evaluated.to_mesh()
        try:
            mesh.calc_loop_triangles()
            n, m = len(mesh.vertices), len(mesh.loop_triangles)
            if n == 0 or m == 0:
                continue
            co = np.zeros(n * 3, dtype=np.float64)
            mesh.vertices.foreach_get("co", co)
            tri = np.zeros(m * 3, dtype=np.int64)
            mesh.loop_triangles.foreach_get("vertices", tri)
        finally:
            evaluated.to_mesh_clear()
        mw = np.asarray(evaluated.matrix_world, dtype=np.float64)
        world = co.reshape(n, 3) @ mw[:3, :3].T + mw[:3, 3]
        owner = -1
        if obj.get(lp.ROLE) == "object" and obj.users_collection and collection in obj.users_collection:
            owner = len(ids)
            ids.append(str(obj[lp.OBJECT_ID]))
        verts_parts.append(world)
        tri_parts.append(tri.reshape(m, 3) + offset)
        owner_parts.append(np.full(m, owner, dtype=np.int32))
        offset += n
    if not verts_parts:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int32), ids
    return np.concatenate(verts_parts), np.concatenate(tri_parts), np.concatenate(owner_parts), ids


def _stage_lighting(scene: bpy.types.Scene, collection: bpy.types.Collection, light_w: float) -> list[Any]:
    """A grey world and a light under the ceiling's centre, in the temporary scene only."""
    world = bpy.data.worlds.new("imaginarium_render_world")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.6, 0.6, 0.6, 1.0)
    scene.world = world
    planes = [schema.Plane.from_dict(d) for d in json.loads(collection.get(lp.PLANES, "[]"))]
    z = ceiling_height(planes, floor_height(planes)) - 0.15
    floor = lp.structure_objects(collection).get("floor")
    centre = Vector((0.0, 0.0, 0.0))
    if floor is not None and len(floor.data.vertices):
        centre = sum((floor.matrix_world @ v.co for v in floor.data.vertices), Vector()) / len(floor.data.vertices)
    data = bpy.data.lights.new("imaginarium_render_light", "POINT")
    data.energy = light_w
    data.shadow_soft_size = 0.3
    light = bpy.data.objects.new("imaginarium_render_light", data)
    light.location = (centre.x, centre.y, z)
    scene.collection.objects.link(light)
    return [(bpy.data.objects, light), (bpy.data.lights, data), (bpy.data.worlds, world)]


def _render_rgb(scene: bpy.types.Scene, path: Path, samples: int, threads: int, denoise: bool) -> None:
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = denoise  # OpenImageDenoise on the CPU: clean images from few samples
    if denoise:
        scene.cycles.denoiser = "OPENIMAGEDENOISE"
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.max_bounces = 4  # an enclosed, light-walled room otherwise bounces ~12 times per path
    scene.cycles.diffuse_bounces = 2
    scene.cycles.glossy_bounces = 2
    scene.cycles.transmission_bounces = 4
    scene.cycles.volume_bounces = 0
    scene.cycles.transparent_max_bounces = 4
    scene.cycles.pixel_filter_type = "BOX"
    scene.cycles.filter_width = 1.0
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.render.filepath = str(path)
    with _quiet_stdout():  # Cycles prints a status line per step to the C stdout
        bpy.ops.render.render(write_still=True, scene=scene.name)


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null for the duration (no-op when it cannot be redirected)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):
        yield
        return
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def write_png_gray(path: Path, image: np.ndarray) -> None:
    """An 8-bit greyscale PNG from an (H, W) uint8 array (stdlib only: Blender's Python has no PIL)."""
    h, w = image.shape
    raw = b"".join(b"\x00" + image[r].astype(np.uint8).tobytes() for r in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    Path(path).write_bytes(png)
