"""Render a test scene for matching in a fresh bpy interpreter.

Usage: ``python scene_script.py SPEC.json``. A scene spec places library assets (``blend``: a
.blend file whose objects form the asset in its own frame) or primitive assets (``parts``:
boxes/cylinders with colours) at known positions and yaws on a floor in front of a wall, and
sets a camera. Written into ``spec["out"]``: ``image.png`` (Cycles), ``depth.npy`` (z-depth in
metres, ray cast), ``masks/<id>.png`` (ray cast, disjoint) and ``camera.json`` (pinhole
intrinsics and the OpenCV world_from_camera), i.e. what perception would hand to matching.
A template spec (``views``) renders one asset alone on transparent background from each view.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector
from PIL import Image


def material(name: str, rgb: list[float], roughness: float = 0.6) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    return mat


def primitive(part: dict, name: str) -> bpy.types.Object:
    kind = part.get("type", "cube")
    sx, sy, sz = part["size"]
    if kind == "cylinder":
        bpy.ops.mesh.primitive_cylinder_add(vertices=24, radius=0.5, depth=1.0)
    else:
        bpy.ops.mesh.primitive_cube_add(size=1.0)
    obj = bpy.context.active_object
    obj.name = name
    obj.scale = (sx, sy, sz)
    ox, oy, oz = part.get("offset", (0.0, 0.0, 0.0))
    obj.location = (ox, oy, oz + sz / 2.0)
    obj.data.materials.append(material(name + "_mat", part["rgb"]))
    return obj


def asset_objects(entry: dict, root: bpy.types.Object) -> list[bpy.types.Object]:
    """The asset's mesh objects, parented to ``root`` (which carries the placement)."""
    made: list[bpy.types.Object] = []
    if entry.get("blend"):
        with bpy.data.libraries.load(entry["blend"], link=False) as (src, dst):
            dst.objects = list(src.objects)
        for obj in dst.objects:
            if obj is None:
                continue
            bpy.context.scene.collection.objects.link(obj)
            made.append(obj)
        for obj in made:
            if obj.parent is None:
                obj.parent = root
    else:
        for i, part in enumerate(entry["parts"]):
            obj = primitive(part, f"{entry['id']}_part{i}")
            obj.parent = root
            made.append(obj)
    return made


def render_templates(spec: dict) -> None:
    """Template views of one asset at the origin: RGBA PNGs (alpha = mask) and the cameras' poses."""
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    root = bpy.data.objects.new("asset", None)
    scene.collection.objects.link(root)
    asset_objects(spec["asset"], root)
    _lights(scene)
    _cycles(scene, int(spec.get("samples", 16)))
    scene.render.film_transparent = True
    scene.render.image_settings.color_mode = "RGBA"
    poses = []
    for k, view in enumerate(spec["views"]):
        cam = _camera(scene, view)
        bpy.context.view_layer.update()
        poses.append((np.array(cam.matrix_world) @ np.diag([1.0, -1.0, -1.0, 1.0])).tolist())
        scene.render.filepath = str(out / f"view_{k}.png")
        bpy.ops.render.render(write_still=True)
    (out / "poses.json").write_text(json.dumps(poses))


def _lights(scene: bpy.types.Scene) -> None:
    world = bpy.data.worlds.new("w")
    world.use_nodes = True
    world.node_tree.nodes["Background"].inputs["Color"].default_value = (0.5, 0.5, 0.5, 1.0)
    scene.world = world
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    sun.data.energy = 3.0
    sun.rotation_euler = (math.radians(40), math.radians(10), math.radians(30))
    scene.collection.objects.link(sun)


def _camera(scene: bpy.types.Scene, cam_spec: dict) -> bpy.types.Object:
    cam = scene.camera
    if cam is None:
        cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
        scene.collection.objects.link(cam)
        scene.camera = cam
    cam.data.sensor_fit = "HORIZONTAL"
    cam.data.sensor_width = 36.0
    cam.data.lens = float(cam_spec["lens_mm"])
    cam.location = cam_spec["location"]
    direction = Vector(cam_spec["target"]) - Vector(cam_spec["location"])
    cam.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
    scene.render.resolution_x, scene.render.resolution_y = int(cam_spec["width"]), int(cam_spec["height"])
    scene.render.resolution_percentage = 100
    return cam


def _cycles(scene: bpy.types.Scene, samples: int) -> None:
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.render.threads_mode = "FIXED"
    scene.render.threads = 1
    scene.view_settings.view_transform = "Standard"
    scene.render.image_settings.file_format = "PNG"


def main(spec_path: str) -> None:
    """A spec is one job or {"jobs": [...]}: several renders share one interpreter start."""
    spec = json.loads(Path(spec_path).read_text())
    for job in spec.get("jobs", [spec]):
        if "views" in job:
            render_templates(job)
        else:
            render_scene(job)


def render_scene(spec: dict) -> None:
    """A floor, a wall, the placed assets and a camera: image, depth, masks and camera.json."""
    out = Path(spec["out"])
    (out / "masks").mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    owners: dict[str, str] = {}
    for entry in spec["objects"]:
        root = bpy.data.objects.new(entry["id"], None)
        scene.collection.objects.link(root)
        root.location = entry["location"]
        root.rotation_euler = (0.0, 0.0, entry["yaw"])
        for obj in asset_objects(entry, root):
            owners[obj.name] = entry["id"]
    room = spec.get("room", {})
    floor = primitive({"size": [14, 14, 0.02], "offset": [0, 0, -0.02], "rgb": room.get("floor_rgb", [0.45, 0.4, 0.35])},
                      "floor")
    wall = primitive({"size": [14, 0.05, 4], "offset": [0, room.get("wall_y", 6.0), 0],
                      "rgb": room.get("wall_rgb", [0.8, 0.8, 0.78])}, "wall")
    del floor, wall
    _lights(scene)
    cam_spec = spec["camera"]
    w, h = int(cam_spec["width"]), int(cam_spec["height"])
    cam = _camera(scene, cam_spec)
    bpy.context.view_layer.update()

    fx = cam.data.lens / 36.0 * w
    wfc = np.array(cam.matrix_world) @ np.diag([1.0, -1.0, -1.0, 1.0])
    camera = {"fx": fx, "fy": fx, "cx": w / 2.0, "cy": h / 2.0, "width": w, "height": h,
              "world_from_camera": wfc.tolist()}
    (out / "camera.json").write_text(json.dumps(camera))

    _cycles(scene, int(spec.get("samples", 16)))
    scene.render.image_settings.color_mode = "RGB"
    scene.render.filepath = str(out / "image.png")
    bpy.ops.render.render(write_still=True)

    # Depth and masks by ray casting through pixel centres (exact, disjoint, no compositor needed).
    depsgraph = bpy.context.evaluated_depsgraph_get()
    origin = Vector(wfc[:3, 3].tolist())
    rot = wfc[:3, :3]
    depth = np.zeros((h, w), np.float32)
    label = np.full((h, w), "", dtype=object)
    for v in range(h):
        for u in range(w):
            d = np.array([(u + 0.5 - w / 2.0) / fx, (v + 0.5 - h / 2.0) / fx, 1.0])
            ray = rot @ d
            hit, loc, _n, _i, obj, _m = scene.ray_cast(depsgraph, origin, Vector((ray / np.linalg.norm(ray)).tolist()))
            if hit:
                depth[v, u] = float((np.array(loc) - wfc[:3, 3]) @ rot[:, 2])
                label[v, u] = owners.get(obj.name, "")
    np.save(out / "depth.npy", depth)
    for oid in {e["id"] for e in spec["objects"]}:
        mask = (label == oid).astype(np.uint8) * 255
        Image.fromarray(mask).save(out / "masks" / f"{oid}.png")


if __name__ == "__main__":
    main(sys.argv[-1])
