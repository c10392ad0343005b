"""Load library assets (.blend, FBX, GLB/glTF, OBJ) as one mesh each, in the asset frame.

Why one mesh per asset: every placement then becomes a single object that the artist can
click, move and pin, that rigid bodies and BVH trees handle directly, and that all copies of
an asset share (``obj.data``) — members of a group share mesh data for free. The asset's
objects are evaluated (modifiers, curves and text become mesh) and merged with their
materials; lights, cameras, armatures and empties are dropped.

The mesh is then put in the asset frame the rest of the pipeline assumes: origin at the
bottom centre of its bounding box and the catalogue's size (``AssetRecord.size``, per axis).
A correctly exported asset is left untouched; an FBX in centimetres or a model with its
origin elsewhere is fixed here, once, and marked ``imaginarium_normalised``. A flat asset
(a rug, no thickness) is raised ``FLAT_LIFT_M`` inside its mesh, so it never lies coplanar
with the floor (black in Cycles, flickering in the viewport); its transform stays exact.

Loading never harms the open scene: importers run into a temporary staging collection, and
on any failure every datablock the attempt created is removed before an
:class:`AssetImportError` names the file and the fix.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import bmesh
import bpy
import numpy as np
from mathutils import Matrix

from ..core.errors import AssetImportError
from .layout_props import PREFIX

MESH_LIKE = {"MESH", "CURVE", "SURFACE", "META", "FONT"}
FLAT_LIFT_M = 0.002  # a flat asset (a rug) would be coplanar with the floor: Cycles shades it black
_TRACKED = ("objects", "meshes", "materials", "images", "collections", "armatures", "actions", "cameras", "lights",
            "curves", "node_groups", "textures", "metaballs", "lattices", "fonts", "worlds")
_FIX = ("Re-export the asset as .blend, GLB, FBX (binary) or OBJ with its origin at the bottom centre and front "
        "facing -Y, or mark its catalogue row state=abort so it is not used.")


def _importers() -> dict[str, Callable[[str], Any]]:
    return {
        ".fbx": lambda p: bpy.ops.import_scene.fbx(filepath=p),
        ".glb": lambda p: bpy.ops.import_scene.gltf(filepath=p),
        ".gltf": lambda p: bpy.ops.import_scene.gltf(filepath=p),
        ".obj": lambda p: bpy.ops.wm.obj_import(filepath=p),
    }


class AssetLoader:
    """Loads each asset file once and hands out its merged mesh (cached by asset id)."""

    def __init__(self, scene: bpy.types.Scene | None = None) -> None:
        self.scene = scene or bpy.context.scene
        self.meshes: dict[str, bpy.types.Mesh] = {}
        self._before: dict[str, set[int]] | None = None

    def discard(self) -> None:
        """Remove everything this loader created (meshes, materials, images): a failed build leaves no trace."""
        if self._before is not None:
            kept = self._before["meshes"]  # meshes that existed before (a rebuild's shared meshes) stay
            self.meshes = {k: m for k, m in self.meshes.items() if m.as_pointer() in kept}
            _remove_new(self._before, keep=None)
            self._before = None

    def mesh_for(self, record: Any) -> bpy.types.Mesh:
        """The asset's mesh in the asset frame; AssetImportError when it cannot be loaded."""
        if record.id in self.meshes:
            return self.meshes[record.id]
        path = str(record.path) if record.path else ""
        if not path:
            raise AssetImportError(f"Asset {record.id} has no file in the catalogue.",
                                   "Add the asset file to the library or remove the asset from the layout.",
                                   asset_id=record.id)
        if not os.path.isfile(path):
            raise AssetImportError(f"Asset file {path} (asset {record.id}) does not exist.",
                                   "Put the file there, or point the add-on preferences at the library that has it.",
                                   asset_id=record.id, path=path)
        if self._before is None:
            self._before = _snapshot()
        suffix = os.path.splitext(path)[1].lower()
        if suffix != ".blend" and suffix not in _importers():
            raise AssetImportError(f"Asset file {path} has an unsupported format '{suffix}'.",
                                   "Convert it to .blend, .glb, .fbx or .obj.", asset_id=record.id, path=path)
        mesh = self._load(record, path, suffix)
        self.meshes[record.id] = mesh
        return mesh

    def _load(self, record: Any, path: str, suffix: str) -> bpy.types.Mesh:
        before = _snapshot()
        staging = bpy.data.collections.new(f"imaginarium_staging_{record.id}")
        self.scene.collection.children.link(staging)
        view_layer = bpy.context.view_layer
        previous_active = view_layer.active_layer_collection
        selection = {o.name: o.select_get() for o in view_layer.objects}
        active_object = view_layer.objects.active
        mesh = None
        try:
            if suffix == ".blend":
                objects = _append_blend(path, staging)
            else:
                objects = _run_importer(path, suffix, staging, view_layer)
            candidates = [o for o in objects if o.type in MESH_LIKE]
            if not candidates:
                raise AssetImportError(f"Asset file {path} (asset {record.id}) contains no mesh.", _FIX,
                                       asset_id=record.id, path=path)
            mesh = _merged_mesh(candidates, f"asset {record.id}")
            normalised = _normalise(mesh, record.size)
            mesh[PREFIX + "asset_id"] = record.id
            mesh[PREFIX + "source"] = path
            mesh[PREFIX + "normalised"] = normalised
        except Exception as exc:
            _remove_new(before, keep=None)
            if isinstance(exc, AssetImportError):
                raise
            raise AssetImportError(f"Could not import asset {record.id} from {path}: {str(exc).strip()}", _FIX,
                                   asset_id=record.id, path=path) from None
        finally:
            _restore_view_layer(view_layer, previous_active, selection, active_object)
        _remove_new(before, keep=mesh)
        return mesh


def _append_blend(path: str, staging: bpy.types.Collection) -> list[bpy.types.Object]:
    """Append every object of a .blend file (not linked: the scene owns the copy)."""
    with bpy.data.libraries.load(path, link=False) as (src, dst):
        dst.objects = list(src.objects)
    objects = [o for o in dst.objects if o is not None]
    for obj in objects:
        staging.objects.link(obj)
    return objects


def _run_importer(path: str, suffix: str, staging: bpy.types.Collection,
                  view_layer: bpy.types.ViewLayer) -> list[bpy.types.Object]:
    """Run Blender's importer into the staging collection; the objects it made."""
    layer = _find_layer_collection(view_layer.layer_collection, staging)
    if layer is not None:
        view_layer.active_layer_collection = layer
    existing = {o.as_pointer() for o in bpy.data.objects}
    result = _importers()[suffix](path)
    if "FINISHED" not in result:
        raise RuntimeError(f"the importer returned {sorted(result)}")
    return [o for o in bpy.data.objects if o.as_pointer() not in existing]


def _find_layer_collection(layer: bpy.types.LayerCollection,
                           coll: bpy.types.Collection) -> bpy.types.LayerCollection | None:
    if layer.collection == coll:
        return layer
    for child in layer.children:
        found = _find_layer_collection(child, coll)
        if found is not None:
            return found
    return None


def _merged_mesh(objects: list[bpy.types.Object], name: str) -> bpy.types.Mesh:
    """One mesh in world (= asset) coordinates from the evaluated objects, materials remapped."""
    bpy.context.view_layer.update()
    single = objects[0]
    if (len(objects) == 1 and single.type == "MESH" and not single.modifiers and single.data.shape_keys is None
            and _is_identity(single.matrix_world) and all(s.link == "DATA" for s in single.material_slots)):
        single.data.name = name
        return single.data  # already in the asset frame: keep every data layer as exported
    depsgraph = bpy.context.evaluated_depsgraph_get()
    materials: list[Any] = []
    bm = bmesh.new()
    try:
        for obj in objects:
            evaluated = obj.evaluated_get(depsgraph)
            part = bpy.data.meshes.new_from_object(evaluated, preserve_all_data_layers=True, depsgraph=depsgraph)
            part.transform(evaluated.matrix_world)
            if evaluated.matrix_world.determinant() < 0:
                part.flip_normals()
            slot_map = []
            for slot in obj.material_slots or [None]:
                mat = slot.material if slot is not None else None
                if not any(m == mat for m in materials):
                    materials.append(mat)
                slot_map.append(next(i for i, m in enumerate(materials) if m == mat))
            if len(part.polygons):
                idx = np.zeros(len(part.polygons), dtype=np.int32)
                part.polygons.foreach_get("material_index", idx)
                part.polygons.foreach_set("material_index", np.asarray(slot_map, np.int32)[
                    np.clip(idx, 0, len(slot_map) - 1)])
            bm.from_mesh(part)
            bpy.data.meshes.remove(part)
        mesh = bpy.data.meshes.new(name)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    for mat in materials:
        mesh.materials.append(mat)
    return mesh


def _is_identity(m: Matrix, tol: float = 1e-6) -> bool:
    return all(abs(m[i][j] - (1.0 if i == j else 0.0)) < tol for i in range(4) for j in range(4))


def _normalise(mesh: bpy.types.Mesh, size: Any) -> bool:
    """Move the bottom centre to the origin and scale to the catalogue size; True if it changed."""
    n = len(mesh.vertices)
    if n == 0:
        raise AssetImportError(f"The asset mesh {mesh.name} has no vertices.", _FIX)
    co = np.zeros(n * 3, dtype=np.float64)
    mesh.vertices.foreach_get("co", co)
    co = co.reshape(n, 3)
    lo, hi = co.min(axis=0), co.max(axis=0)
    extent = hi - lo
    factor = np.ones(3)
    for axis in range(3):
        if extent[axis] > 1e-6 and float(size[axis]) > 1e-6:
            factor[axis] = float(size[axis]) / extent[axis]
    origin = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
    lift = FLAT_LIFT_M if extent[2] * factor[2] < 1e-3 else 0.0
    if np.all(np.abs(factor - 1.0) < 5e-3) and np.all(np.abs(origin) < 1e-3) and not lift:
        return False
    fix = Matrix.Translation((0.0, 0.0, lift)) @ Matrix.Diagonal((*factor.tolist(), 1.0)) @ Matrix.Translation(
        tuple(-origin))
    mesh.transform(fix)
    mesh.update()
    return True


def _snapshot() -> dict[str, set[int]]:
    return {attr: {d.as_pointer() for d in getattr(bpy.data, attr)} for attr in _TRACKED}


def _remove_new(before: dict[str, set[int]], keep: bpy.types.Mesh | None) -> None:
    """Remove what an import created, except ``keep`` and the materials/images it uses."""
    kept_ptrs: set[int] = set()
    if keep is not None:
        kept_ptrs.add(keep.as_pointer())
        for mat in keep.materials:
            if mat is not None:
                kept_ptrs.add(mat.as_pointer())
                kept_ptrs.update(_material_dependencies(mat))
    doomed = []
    for attr in _TRACKED:
        for block in getattr(bpy.data, attr):
            ptr = block.as_pointer()
            if ptr not in before[attr] and ptr not in kept_ptrs:
                doomed.append(block)
    if doomed:
        bpy.data.batch_remove(doomed)


def _material_dependencies(mat: bpy.types.Material) -> set[int]:
    """Images and node groups a material's node tree uses (kept alive with the material)."""
    out: set[int] = set()
    stack = [mat.node_tree] if mat.node_tree else []
    while stack:
        tree = stack.pop()
        for node in tree.nodes:
            image = getattr(node, "image", None)
            if image is not None:
                out.add(image.as_pointer())
            group = getattr(node, "node_tree", None)
            if group is not None and group.as_pointer() not in out:
                out.add(group.as_pointer())
                stack.append(group)
    return out


def _restore_view_layer(view_layer: bpy.types.ViewLayer, active_layer: Any, selection: dict[str, bool],
                        active_object: Any) -> None:
    """Importers select their objects and change the active collection: put the artist's state back."""
    try:
        view_layer.active_layer_collection = active_layer
    except (ReferenceError, TypeError, RuntimeError):
        pass
    for obj in view_layer.objects:
        if obj.name in selection:
            obj.select_set(selection[obj.name])
    try:
        view_layer.objects.active = active_object
    except (ReferenceError, RuntimeError):
        pass
