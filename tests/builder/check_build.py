"""Run in a fresh bpy interpreter: build, read back, rebuild and fail an import; print one JSON report.

argv: WORK_DIR. The report holds raw measurements; tests/builder/test_scene_builder.py judges them.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import sys
from pathlib import Path

import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view
from mathutils import Vector

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import tests.builder.bpy_fixtures as fx  # noqa: E402

sb = importlib.import_module("imaginarium.imaginarium_addon.scene_builder")
lp = importlib.import_module("imaginarium.imaginarium_addon.layout_props")
rp = importlib.import_module("imaginarium.imaginarium_addon.render_passes")
errors = importlib.import_module("imaginarium.core.errors")
schema = fx.schema

work = Path(sys.argv[-1])
paths = fx.make_assets(work / "assets")
records = fx.records(paths)
texture = work / "oak.png"
rp.write_png_gray(texture, (np.indices((8, 8)).sum(axis=0) % 2 * 200 + 30).astype(np.uint8))
reference = work / "reference.png"
rp.write_png_gray(reference, np.full((48, 64), 128, np.uint8))
report: dict = {}

# The artist's own things, which no build may touch.
bpy.ops.wm.read_homefile(use_empty=True)
scene = bpy.context.scene
art_mesh = bpy.data.meshes.new("artist_mesh")
art_mesh.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
artist = bpy.data.objects.new("artist_thing", art_mesh)
scene.collection.objects.link(artist)
artist.location = (5.0, 5.0, 0.5)


def artist_state() -> dict:
    return {"names": sorted(o.name for o in bpy.data.objects), "matrix": [list(r) for r in artist.matrix_world],
            "meshes": len(bpy.data.meshes), "materials": len(bpy.data.materials), "images": len(bpy.data.images),
            "collections": sorted(c.name for c in bpy.data.collections),
            "artist_in_scene": artist.name in scene.collection.objects}


def np_world(p) -> np.ndarray:
    return np.asarray(p.transform, dtype=float) @ np.diag([*p.scale, 1.0])


layout = fx.layout()
box_candidates = schema.CandidateSet(candidates=[schema.Candidate(object_id="box_0", assets=[
    schema.RankedAsset(asset_id="box_a", score=0.9), schema.RankedAsset(asset_id="chair_a", score=0.4)])])
coll = sb.build_layout(layout, records, run_id="run_test", reference_image=str(reference), textures={"oak": str(texture)},
                       candidates=box_candidates)
report["collection"] = {"name": coll.name, "role": coll.get(lp.ROLE), "in_scene": coll.name in scene.collection.children,
                        "objects": sorted(o.name for o in coll.objects)}
report["artist_after_build"] = {"matrix": [list(r) for r in artist.matrix_world],
                                "collections": [c.name for c in artist.users_collection]}

objs = lp.placement_objects(coll)
report["objects"] = {}
for p in layout.placements:
    obj = objs[p.object_id]
    world = np.array([[v for v in (obj.matrix_world @ Vector(c))] for c in obj.bound_box])
    report["objects"][p.object_id] = {
        "type": obj.type, "props": {k: obj[k] for k in obj.keys() if k.startswith("imaginarium_")},
        "matrix_error": float(np.abs(np.asarray(obj.matrix_world) - np_world(p)).max()),
        "world_min": world.min(axis=0).tolist(), "world_max": world.max(axis=0).tolist(),
        "local_size": list(obj.dimensions), "mesh": obj.data.name, "materials": [m.name for m in obj.data.materials if m]}

report["room"] = {}
for pid, obj in lp.structure_objects(coll).items():
    mesh = obj.data
    plane = json.loads(obj[lp.PLANE])
    co = np.array([list(obj.matrix_world @ v.co) for v in mesh.vertices])
    mat = mesh.materials[0] if len(mesh.materials) else None
    image_nodes = [n.image.filepath for n in mat.node_tree.nodes if n.type == "TEX_IMAGE" and n.image] if mat else []
    bsdf = mat.node_tree.nodes.get("Principled BSDF") if mat else None
    report["room"][pid] = {
        "normal_dot": float(Vector(plane["normal"]).dot(obj.matrix_world.to_3x3() @ mesh.polygons[0].normal)),
        "plane_residual": float(np.abs(co @ np.asarray(plane["normal"]) - plane["offset"]).max()),
        "min": co.min(axis=0).tolist(), "max": co.max(axis=0).tolist(), "uv_layers": len(mesh.uv_layers),
        "material": mat.name if mat else None, "images": image_nodes,
        "base_color": list(bsdf.inputs["Base Color"].default_value)[:3] if bsdf else None}

# Camera: project world points with the schema's OpenCV model and with Blender's camera.
cam_obj = lp.camera_object(coll)
cam = layout.camera
w2c = np.linalg.inv(np.asarray(cam.world_from_camera, dtype=float))
pixels = []
for point in [(0.0, 2.0, 1.2), (1.0, 1.0, 0.75), (-1.2, 1.5, 2.2), (1.7, 0.3, 0.1), (-0.4, 0.0, 1.9)]:
    x, y, z = (w2c @ np.array([*point, 1.0]))[:3]
    cv = (cam.fx * x / z + cam.cx, cam.fy * y / z + cam.cy)
    ndc = world_to_camera_view(scene, cam_obj, Vector(point))
    pixels.append({"point": point, "opencv": cv, "blender": (ndc.x * cam.width, (1.0 - ndc.y) * cam.height)})
report["camera"] = {
    "pixels": pixels, "scene_camera": scene.camera == cam_obj,
    "resolution": [scene.render.resolution_x, scene.render.resolution_y],
    "background": [bg.image.filepath for bg in cam_obj.data.background_images if bg.image],
    "show_background": cam_obj.data.show_background_images}

# Collision proxies for the solver from the placed meshes (asset frame, catalogue size).
bvh_adapter = importlib.import_module("imaginarium.imaginarium_addon.bvh_adapter")
proxies = bvh_adapter.CollectionProxies(coll, fallback={"other_a": (np.zeros((4, 3)), np.zeros((4, 3), np.int32))})
verts, faces = proxies.proxy("table_a")
try:
    proxies.proxy("unknown_a")
    unknown = "no error"
except KeyError:
    unknown = "KeyError"
report["proxies"] = {"min": verts.min(axis=0).tolist(), "max": verts.max(axis=0).tolist(), "faces": list(faces.shape),
                     "dtypes": [str(verts.dtype), str(faces.dtype)], "max_index": int(faces.max()),
                     "n_verts": len(verts), "fallback": len(proxies.proxy("other_a")[0]), "unknown": unknown}

# Round trip: build -> read -> build into another run -> read; plus the artist's nudge.
back = sb.read_layout(coll)
coll2 = sb.build_layout(back, records, run_id="run_copy", activate_camera=False)
again = sb.read_layout(coll2)


def compare(a, b) -> dict:
    pa, pb = a.by_id(), b.by_id()
    return {
        "ids": [list(pa), list(pb)],
        "transform_err": max(float(np.abs(np.asarray(pa[k].transform) - np.asarray(pb[k].transform)).max()) for k in pa),
        "scale_err": max(float(np.abs(np.asarray(pa[k].scale) - np.asarray(pb[k].scale)).max()) for k in pa),
        "fields_equal": all((pa[k].asset_id, pa[k].parent, pa[k].relation, pa[k].pinned, pa[k].walls, pa[k].inner_space)
                            == (pb[k].asset_id, pb[k].parent, pb[k].relation, pb[k].pinned, pb[k].walls, pb[k].inner_space)
                            for k in pa),
        "camera_err": float(max(abs(getattr(a.camera, f) - getattr(b.camera, f)) for f in ("fx", "fy", "cx", "cy"))),
        "camera_pose_err": float(np.abs(np.asarray(a.camera.world_from_camera)
                                        - np.asarray(b.camera.world_from_camera)).max()),
        "planes_equal": [p.to_dict() for p in a.planes] == [p.to_dict() for p in b.planes],
        "textures": [a.textures, b.textures], "run_ids": [a.run_id, b.run_id]}


report["roundtrip_original"] = compare(layout, back)
report["roundtrip_rebuilt"] = compare(back, again)
objs["box_0"].location.x += 0.1
nudged = sb.read_layout(coll).by_id()["box_0"]
report["nudge"] = {"before": layout.by_id()["box_0"].transform[0][3], "after": nudged.transform[0][3]}
wall = lp.structure_objects(coll)["wall_2"]
wall.location.y += 0.3  # the artist pushes the back wall out
moved = {p.id: p for p in sb.read_layout(coll).planes}["wall_2"]
report["moved_wall"] = {"normal": list(moved.normal), "offset": moved.offset}
wall.location.y -= 0.3
copy = objs["chair_0"].copy()  # what Shift+D does: same data, same custom properties
coll.objects.link(copy)
copy.location.x += 0.6
with_copy = sb.read_layout(coll).by_id()
report["duplicate"] = {"ids": sorted(with_copy), "copy_id": copy[lp.OBJECT_ID], "copy_x": with_copy["chair_0_1"].transform[0][3],
                       "original_x": with_copy["chair_0"].transform[0][3], "asset": with_copy["chair_0_1"].asset_id}
bpy.data.objects.remove(copy)
sb.apply_layout(coll, layout)
report["apply"] = {"box_x": objs["box_0"].matrix_world.translation.x,
                   "matrix_error": float(np.abs(np.asarray(objs["box_0"].matrix_world) - np_world(layout.by_id()["box_0"])).max())}

# Rebuild the same run: box removed, a second chair added; the table carries an artist's modifier.
table = objs["table_0"]
table.modifiers.new("artist_bevel", "BEVEL")
table_ptr = table.as_pointer()
layout2 = dataclasses.replace(layout, placements=[
    layout.placements[0], layout.placements[2],
    schema.Placement(object_id="chair_1", asset_id="chair_a", transform=fx.pose(-1.0, -0.2, 0.0, -30.0))])
coll_again = sb.build_layout(layout2, records, run_id="run_test")
objs2 = lp.placement_objects(coll_again)
removed = bpy.data.collections.get("Imaginarium run_test (removed)")
report["rebuild"] = {
    "same_collection": coll_again == coll, "ids": sorted(objs2),
    "table_same_object": objs2["table_0"].as_pointer() == table_ptr,
    "table_modifiers": [m.name for m in objs2["table_0"].modifiers],
    "chairs_share_mesh": objs2["chair_0"].data == objs2["chair_1"].data,
    "box_in_removed": removed is not None and "box_0" in removed.objects,
    "box_still_exists": "box_0" in bpy.data.objects,
    "run_collections": sorted(c.name for c in bpy.data.collections if c.get(lp.ROLE) == "run"),
    "cameras": sum(1 for o in coll_again.objects if o.type == "CAMERA"),
    "structures": sorted(lp.structure_objects(coll_again)),
    "table_candidates": json.loads(objs2["table_0"][lp.CANDIDATES]),
    "all_objects": len(coll_again.objects)}

# A layout with no planes and no camera: floor and ceiling still built, sized to the objects (+0.5 m).
bare = schema.Layout(placements=[layout.placements[0]], run_id="run_bare")
bare_coll = sb.build_layout(bare, records, run_id="run_bare")
bare_room = lp.structure_objects(bare_coll)
report["bare"] = {"structures": sorted(bare_room), "camera": lp.camera_object(bare_coll) is not None,
                  "floor_min": [min(v.co[i] for v in bare_room["floor"].data.vertices) for i in range(3)],
                  "floor_max": [max(v.co[i] for v in bare_room["floor"].data.vertices) for i in range(3)],
                  "ceiling_z": bare_room["ceiling"].data.vertices[0].co.z,
                  "read_back_planes": len(sb.read_layout(bare_coll).planes)}

# OBJ import (Y-up file, converted by Blender's importer) of a flat rug 2 x 1.2 in the file, catalogue 1.0 x 0.6.
(work / "rug.obj").write_text("v -1 0 -0.6\nv 1 0 -0.6\nv 1 0 0.6\nv -1 0 0.6\nf 1 2 3 4\n")
rug_records = {"rug_a": schema.AssetRecord(id="rug_a", name="rug", class_name="rug", retrieval_class="rug",
                                           size=(1.0, 0.6, 0.0), path=str(work / "rug.obj"))}
rug_coll = sb.build_layout(schema.Layout(placements=[schema.Placement(object_id="rug_0", asset_id="rug_a",
                                                                      transform=fx.pose(0.3, 0.2, 0.0))]),
                           rug_records, run_id="run_rug")
rug = lp.placement_objects(rug_coll)["rug_0"]
rug_world = np.array([list(rug.matrix_world @ v.co) for v in rug.data.vertices])
report["rug"] = {"min": rug_world.min(axis=0).tolist(), "max": rug_world.max(axis=0).tolist(),
                 "normalised": bool(rug.data.get("imaginarium_normalised")),
                 "read_back_z": sb.read_layout(rug_coll).placements[0].transform[2][3]}

# Import failures: nothing of the scene is lost, nothing half-built stays behind.
(work / "broken.fbx").write_bytes(b"not an fbx file at all")
(work / "broken.blend").write_bytes(b"garbage")
failures = {}
for key, path in (("fbx", work / "broken.fbx"), ("blend", work / "broken.blend"), ("missing", work / "nope.glb")):
    bad = dict(records)
    bad["lamp_a"] = schema.AssetRecord(id="lamp_a", name="lamp", class_name="lamp", retrieval_class="lamp",
                                       size=(0.3, 0.3, 0.5), path=str(path))
    bad_layout = dataclasses.replace(layout, placements=[*layout.placements, schema.Placement(
        object_id="lamp_0", asset_id="lamp_a", transform=fx.pose(0.5, 1.5, 0.0))])
    before = artist_state()
    try:
        sb.build_layout(bad_layout, bad, run_id=f"run_bad_{key}")
        failures[key] = {"raised": None}
    except Exception as exc:  # the test checks the type
        failures[key] = {"raised": type(exc).__name__, "message": getattr(exc, "message", str(exc)),
                         "fix": getattr(exc, "fix", ""), "path": str(path)}
    failures[key]["unchanged"] = artist_state() == before
    failures[key]["before"], failures[key]["after"] = before, artist_state()
before = artist_state()
def cancel(fraction: float, message: str) -> None:
    if fraction > 0:  # after the first asset loaded
        raise errors.CancelledError("Cancelled by the test.")
try:
    sb.build_layout(layout, records, run_id="run_cancelled", progress=cancel)
    failures["cancel"] = {"raised": None}
except Exception as exc:
    failures["cancel"] = {"raised": type(exc).__name__}
failures["cancel"].update(unchanged=artist_state() == before, before=before, after=artist_state())
report["failures"] = failures
print(json.dumps(report))
