"""Hand-made assets and a small layout for the builder's bpy checks (runs inside a bpy process).

The assets are written the way a library holds them, through Blender's own writers:
* ``table.blend``: two objects (top slab and a pedestal) with object transforms and a parent,
  so the loader has to merge and bake transforms; size 1.0 x 0.6 x 0.75 m.
* ``chair.blend``: one mesh centred on its middle (origin NOT at the bottom), so the loader
  has to move it into the asset frame; size 0.5 x 0.5 x 0.9 m.
* ``box.glb``: a 0.2 m cube with a emissive green material, exported as glTF binary.
The room is 4 m wide (x in [-2, 2]), its back wall at y = 2, no wall behind the camera; the
camera stands at (0, -1.5, 1.2) looking along +Y with non-square pixels and an off-centre
principal point, so the back wall is 3.5 m away along the optical axis.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import bpy

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.conftest import load_extension_package  # noqa: E402  (sets the sandbox env vars too)

EXT = load_extension_package()
from imaginarium.core import schema  # noqa: E402

CAM_Y, CAM_H, BACK_WALL_Y = -1.5, 1.2, 2.0


def _material(name: str, rgb: tuple[float, float, float], emission: float = 0.0) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
    if emission:
        bsdf.inputs["Emission Color"].default_value = (*rgb, 1.0)
        bsdf.inputs["Emission Strength"].default_value = emission
    return mat


def _box_mesh(name: str, size: tuple[float, float, float], centre: tuple[float, float, float]) -> bpy.types.Mesh:
    sx, sy, sz = (s / 2 for s in size)
    cx, cy, cz = centre
    verts = [(cx + x * sx, cy + y * sy, cz + z * sz) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    mesh.validate()
    return mesh


def make_assets(folder: Path) -> dict[str, Path]:
    """Write the three asset files; the open file is reset afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    wood = _material("wood", (0.4, 0.25, 0.1))
    top = bpy.data.objects.new("top", _box_mesh("top", (1.0, 0.6, 0.05), (0, 0, 0)))
    leg = bpy.data.objects.new("leg", _box_mesh("leg", (0.2, 0.2, 0.7), (0, 0, 0)))
    for obj in (top, leg):
        obj.data.materials.append(wood)
    top.location = (0.0, 0.0, 0.725)
    leg.parent = top
    leg.location = (0.0, 0.0, -0.375)  # relative to the top: world z centre 0.35
    bpy.data.libraries.write(str(folder / "table.blend"), {top, leg})
    chair = bpy.data.objects.new("chair", _box_mesh("chair", (0.5, 0.5, 0.9), (0, 0, 0)))
    chair.data.materials.append(_material("fabric", (0.1, 0.2, 0.6)))
    bpy.data.libraries.write(str(folder / "chair.blend"), {chair})
    box = bpy.data.objects.new("box", _box_mesh("box", (0.2, 0.2, 0.2), (0, 0, 0.1)))
    box.data.materials.append(_material("glow", (0.05, 1.0, 0.05), emission=4.0))
    bpy.context.scene.collection.objects.link(box)
    box.select_set(True)
    bpy.ops.export_scene.gltf(filepath=str(folder / "box.glb"), export_format="GLB", use_selection=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    return {"table": folder / "table.blend", "chair": folder / "chair.blend", "box": folder / "box.glb"}


def records(paths: dict[str, Path]) -> dict[str, schema.AssetRecord]:
    return {
        "table_a": schema.AssetRecord(id="table_a", name="table", class_name="table", retrieval_class="table",
                                      size=(1.0, 0.6, 0.75), path=str(paths["table"])),
        "chair_a": schema.AssetRecord(id="chair_a", name="chair", class_name="chair", retrieval_class="chair",
                                      size=(0.5, 0.5, 0.9), path=str(paths["chair"])),
        "box_a": schema.AssetRecord(id="box_a", name="box", class_name="box", retrieval_class="box",
                                    size=(0.2, 0.2, 0.2), path=str(paths["box"])),
    }


def pose(x: float, y: float, z: float, yaw_deg: float = 0.0) -> tuple[tuple[float, ...], ...]:
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    return ((c, -s, 0.0, x), (s, c, 0.0, y), (0.0, 0.0, 1.0, z), (0.0, 0.0, 0.0, 1.0))


def camera(width: int = 64, height: int = 48) -> schema.Camera:
    """Looking along +Y from (0, CAM_Y, CAM_H): camera x → world +X, y (down) → world −Z, z → world +Y."""
    k = width / 64.0
    return schema.Camera(fx=60.0 * k, fy=55.0 * k, cx=30.5 * k, cy=26.0 * k, width=width, height=height,
                         world_from_camera=((1, 0, 0, 0.0), (0, 0, 1, CAM_Y), (0, -1, 0, CAM_H), (0, 0, 0, 1)))


def planes() -> list[schema.Plane]:
    return [
        schema.Plane(id="floor", kind="floor", normal=(0, 0, 1), offset=0.0),
        schema.Plane(id="ceiling", kind="ceiling", normal=(0, 0, -1), offset=-2.6),
        schema.Plane(id="wall_0", kind="wall", normal=(1, 0, 0), offset=-2.0),
        schema.Plane(id="wall_1", kind="wall", normal=(-1, 0, 0), offset=-2.0),
        schema.Plane(id="wall_2", kind="wall", normal=(0, -1, 0), offset=-BACK_WALL_Y),
    ]


def layout(box_z: float = 0.75, width: int = 64, height: int = 48) -> schema.Layout:
    """Table, a box on it (``box_z`` = its bottom), and a chair turned 30° with a non-uniform scale."""
    return schema.Layout(
        placements=[
            schema.Placement(object_id="table_0", asset_id="table_a", transform=pose(1.0, 1.0, 0.0)),
            schema.Placement(object_id="box_0", asset_id="box_a", transform=pose(1.0, 1.0, box_z, 10.0),
                             parent="table_0", relation="on"),
            schema.Placement(object_id="chair_0", asset_id="chair_a", transform=pose(-1.0, 0.8, 0.0, 30.0),
                             scale=(1.0, 1.2, 0.9), relation="against_wall", walls=["wall_0"], pinned=True),
        ],
        planes=planes(), textures={"floor": "oak", "wall": "plaster", "ceiling": "white"}, camera=camera(width, height),
        run_id="run_test")
