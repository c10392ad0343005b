"""Per-asset derived data inside a Blender session: import, normalise, render templates, proxy.

Why one session for many assets: starting Blender and compiling Workbench's shaders costs
seconds, rendering a 224² view about 0.01–0.02 s, so a build renders every asset of its
share in one process, clearing the scene between assets. Only imported by bpy-hosted
scripts (``scripts/build_library.py``); importing it needs bpy.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import bpy
import numpy as np

from ..errors import AssetImportError
from .views import BLENDER_FROM_OPENCV, template_poses


def setup_scene(settings: dict[str, Any]) -> bpy.types.Object:
    """An empty scene with a camera and minimal, fast render settings; returns the camera."""
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    cam_data = bpy.data.cameras.new("template_camera")
    cam_data.sensor_fit = "HORIZONTAL"
    cam_data.angle = np.radians(settings["fov_deg"])
    cam_data.clip_start, cam_data.clip_end = 0.01, 1000.0
    cam = bpy.data.objects.new("template_camera", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    r = scene.render
    r.resolution_x = r.resolution_y = int(settings["resolution"])
    r.resolution_percentage = 100
    r.film_transparent = True
    r.image_settings.file_format = "PNG"
    r.image_settings.color_mode = "RGBA"
    r.image_settings.color_depth = "8"
    r.image_settings.compression = 15
    r.dither_intensity = 0.0  # no noise: faster, smaller PNGs, identical renders for identical input
    r.use_compositing = False
    r.use_sequencer = False
    if settings["engine"] == "cycles":
        r.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = int(settings.get("samples", 8))
        scene.cycles.use_denoising = False
        world = bpy.data.worlds.new("template_world")
        world.color = (0.8, 0.8, 0.8)
        scene.world = world
    else:
        r.engine = "BLENDER_WORKBENCH"
        scene.display.render_aa = "OFF"
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "TEXTURE"  # image textures of real assets; plain material colour otherwise
        shading.show_cavity = False
        shading.show_shadows = False
        shading.show_object_outline = False
    scene.view_settings.view_transform = "Standard"
    return cam


def clear_assets(keep: bpy.types.Object) -> None:
    for obj in list(bpy.data.objects):
        if obj != keep:
            bpy.data.objects.remove(obj, do_unlink=True)
    for block in (bpy.data.meshes, bpy.data.materials, bpy.data.images, bpy.data.collections):
        for item in list(block):
            if item.users == 0:
                block.remove(item)


def import_asset(path: str) -> list[bpy.types.Object]:
    """Bring an asset file into the scene; its mesh objects. AssetImportError with the fix on failure."""
    ext = Path(path).suffix.lower()
    before = set(bpy.data.objects)
    try:
        if ext == ".blend":
            with bpy.data.libraries.load(path, link=False) as (src, dst):
                dst.objects = list(src.objects)
            for obj in dst.objects:
                if obj is not None:
                    bpy.context.scene.collection.objects.link(obj)
        elif ext == ".fbx":
            bpy.ops.import_scene.fbx(filepath=path)
        elif ext in (".glb", ".gltf"):
            bpy.ops.import_scene.gltf(filepath=path)
        elif ext == ".obj":
            bpy.ops.wm.obj_import(filepath=path, forward_axis="NEGATIVE_Y", up_axis="Z")
        else:
            raise AssetImportError(f"{path}: unsupported asset format {ext}.")
    except RuntimeError as exc:
        raise AssetImportError(f"{path} could not be imported ({exc}).") from None
    meshes = [o for o in set(bpy.data.objects) - before if o.type == "MESH"]
    if not meshes:
        raise AssetImportError(f"{path} contains no mesh.")
    return meshes


def _world_vertices(objects: list[bpy.types.Object]) -> tuple[np.ndarray, np.ndarray]:
    """All triangles of the evaluated meshes in world space: (verts [n,3], faces [m,3])."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    verts, faces, offset = [], [], 0
    for obj in objects:
        ev = obj.evaluated_get(depsgraph)
        mesh = ev.to_mesh()
        mesh.calc_loop_triangles()
        co = np.empty(len(mesh.vertices) * 3, np.float64)
        mesh.vertices.foreach_get("co", co)
        co = co.reshape(-1, 3)
        m = np.array(ev.matrix_world)
        co = co @ m[:3, :3].T + m[:3, 3]
        tri = np.empty(len(mesh.loop_triangles) * 3, np.int64)
        mesh.loop_triangles.foreach_get("vertices", tri)
        verts.append(co)
        faces.append(tri.reshape(-1, 3) + offset)
        offset += len(co)
        ev.to_mesh_clear()
    return np.concatenate(verts), np.concatenate(faces)


def normalisation(verts: np.ndarray, size: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis scale and offset mapping file coordinates to the asset frame at catalogue size.

    The bottom centre of the mesh bounds goes to the origin. An axis the catalogue gives as 0
    (flat assets) takes the mean scale of the other axes.
    """
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    dims = np.maximum(hi - lo, 1e-9)
    scale = np.array([s / d if s > 0 else np.nan for s, d in zip(size, dims)])
    scale[np.isnan(scale)] = np.nanmean(scale)
    offset = -np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]]) * scale
    return scale, offset


def simplify(verts: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex clustering on a grid that grows until the proxy has at most ``max_faces`` triangles."""
    extent = float(np.max(verts.max(axis=0) - verts.min(axis=0))) or 1.0
    cells = 64
    while len(faces) > max_faces and cells >= 4:
        key = np.floor((verts - verts.min(axis=0)) / (extent / cells)).astype(np.int64)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.reshape(-1)
        new_verts = np.zeros((len(first), 3))
        np.add.at(new_verts, inverse, verts)
        new_verts /= np.bincount(inverse)[:, None]
        f = inverse[faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        f = np.unique(np.sort(f, axis=1), axis=0) if len(f) else f
        verts, faces = new_verts, f
        cells //= 2
    return verts, faces


def bake_asset(record: Any, content_hash: str, store_root: Path, settings: dict[str, Any],
               camera: bpy.types.Object, dir_name: str) -> dict[str, Any]:
    """Render the templates and write the proxy of one asset into its folder, atomically."""
    clear_assets(camera)
    objects = import_asset(record.path)
    verts, faces = _world_vertices(objects)
    scale, offset = normalisation(verts, record.size)
    frame = np.diag([*scale, 1.0])
    frame[:3, 3] = offset
    from mathutils import Matrix

    mat = Matrix(frame.tolist())
    for obj in bpy.context.scene.objects:
        if obj != camera and obj.parent is None:
            obj.matrix_world = mat @ obj.matrix_world
    final = store_root / dir_name
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "renders").mkdir(parents=True)
    size = tuple(float(s) for s in (verts.max(axis=0) - verts.min(axis=0)) * scale)
    poses = template_poses(size, int(settings["views"]), float(settings["fov_deg"]))
    scene = bpy.context.scene
    for view, pose in enumerate(poses):
        camera.matrix_world = Matrix((pose.astype(np.float64) @ BLENDER_FROM_OPENCV).tolist())
        scene.render.filepath = str(tmp / "renders" / f"{view:03d}.png")
        bpy.ops.render.render(write_still=True)
    proxy_v, proxy_f = simplify(verts * scale + offset, faces, int(settings["proxy_faces"]))
    np.savez_compressed(tmp / "proxy.npz", verts=proxy_v.astype(np.float32), faces=proxy_f.astype(np.int32))
    np.save(tmp / "poses.npy", poses)
    meta = {"id": record.id, "hash": content_hash, "n_views": len(poses), "size": list(size),
            "normalisation": {"scale": scale.tolist(), "offset": offset.tolist()}, "source": record.path}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return meta


def bake_many(catalogue: Any, jobs: list[tuple[str, str]], store_root: Path, settings: dict[str, Any],
              on_done: Any) -> None:
    """Bake each (asset id, hash) in one session; ``on_done(id, hash, error_or_None)`` after each."""
    from .store import asset_dir_name

    camera = setup_scene(settings)
    for asset_id, digest in jobs:
        try:
            bake_asset(catalogue.assets[asset_id], digest, store_root, settings, camera, asset_dir_name(asset_id, digest))
            on_done(asset_id, digest, None)
        except AssetImportError as exc:
            on_done(asset_id, digest, exc.message)
