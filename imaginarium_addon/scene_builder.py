"""Layout ⇄ Blender scene: build a run's collection, read the artist's edits back, apply solved transforms.

Why a collection per run: the scene is the artist's document. A build only ever creates or
changes things inside the run's own collection ("Imaginarium <folder name>", bound to the run
folder's id in ``run.json``, never to the name) and never touches other objects. Every built
object carries custom properties (:mod:`.layout_props`) so :func:`read_layout` can turn the
current scene back into a Layout after the artist moved, pinned or swapped things.

What a build makes: the placed assets (a label with no asset becomes a labelled placeholder
box, :mod:`.openings`); floor, walls and ceiling with every map of their texture sets
(:mod:`.materials`), walls cut open where windows and doors stand; the run's camera with the
photo behind it; and lights (:mod:`.lights`) fitted to the photo's brightness. It reports —
and leaves alone — the artist's objects that the room swallows (:mod:`.scene_conflicts`). The
scene's camera and render size change only when asked (or in a scene without a camera).
Every fallback is a note, on the collection (``imaginarium_notes``) and on its object.

Rebuilding the same run updates its collection **in place**: objects are matched by object id
and keep their identity (name, modifiers, edited mesh, hand-assigned materials when the asset
is unchanged); they get the layout's transform and properties; new placements get new
objects; objects no longer in the layout are moved to a hidden sibling collection
"… (removed)" rather than deleted; lights are made again; anything the artist added to the
run's collection without Imaginarium properties is left alone. All asset files are loaded
before the scene is changed, so an :class:`AssetImportError` leaves the scene exactly as it was.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import bpy
from mathutils import Matrix, Vector

from ..core import schema
from ..core.errors import AssetImportError, BadInputError
from . import (camera_setup, layout_props as lp, lights, materials, openings, render_preview, room_meshes, run_binding,
               scene_conflicts)
from .asset_import import AssetLoader

__all__ = ["build_layout", "read_layout", "apply_layout", "asset_index"]
ORDER = lp.PREFIX + "order"
NOTES = lp.PREFIX + "notes"          # JSON list of notes: on the run collection (the build's) and on each object
OPENINGS = lp.PREFIX + "openings"    # JSON list of (u0, u1, z0, z1) on a wall cut for windows and doors


def asset_index(catalogue_or_assets: Any) -> dict[str, Any]:
    """asset id → AssetRecord from a Catalogue (``.assets``), a dict, or a list of records."""
    source = getattr(catalogue_or_assets, "assets", catalogue_or_assets)
    if isinstance(source, Mapping):
        return dict(source)
    if isinstance(source, Iterable):
        return {rec.id: rec for rec in source}
    raise BadInputError(f"Cannot read assets from {type(catalogue_or_assets).__name__}.",
                        "Pass the Catalogue from core.library.catalogue.load_catalogue, or a list of AssetRecords.")


def build_layout(layout: Any, catalogue_or_assets: Any, *, run_id: str | None = None,
                 reference_image: str | None = None, candidates: Any = None, textures: Any = None,
                 scene: bpy.types.Scene | None = None, activate_camera: bool | None = None,
                 progress: Callable[[float, str], None] | None = None, run_dir: str | os.PathLike | None = None,
                 fit_exposure: bool | None = None, notes: list[str] | None = None) -> bpy.types.Collection:
    """Build (or update in place) the run's collection from ``layout``.

    ``run_dir``: the run folder; the collection is bound to its id (:func:`run_binding.run_identity`)
    unless ``run_id`` is given, and a relative ``reference_image`` is found inside it.
    ``candidates``: an optional CandidateSet (or ``{object_id: [{"asset_id", "score"}]}``) kept on
    each object for swapping; ``textures``: optional texture records (see materials.resolve_textures);
    ``activate_camera``: make the run's camera the scene camera and set the render size to it
    (None: only when the scene has no camera of the artist's); ``fit_exposure``: scale the
    run's lights so a thumbnail render matches the photo's median luminance (None: when there
    is a reference photo and a camera). ``notes`` receives every fallback of the build (they are
    also kept on the collection). ``progress(fraction, message)`` is called while assets load
    (the slow part); it may raise (e.g. core.errors.CancelledError) to stop, and the scene is
    then left as it was.
    """
    report = progress or (lambda fraction, message: None)
    scene = scene or bpy.context.scene
    run_id = run_id or (run_binding.run_identity(run_dir) if run_dir else None) or layout.run_id
    if not run_id:
        raise BadInputError("build_layout needs a run id.", "Pass run_id=… or run_dir=…, or set Layout.run_id.")
    reference_image = run_binding.resolve_image(reference_image, run_dir)
    assets = asset_index(catalogue_or_assets)
    missing = sorted({p.asset_id for p in layout.placements if not openings.is_placeholder(p.asset_id)} - set(assets))
    if missing:
        raise AssetImportError(f"The layout uses assets that are not in the catalogue: {', '.join(missing)}.",
                               "Build with the library the layout was solved against, or re-run matching.")
    coll = lp.find_run_collection(run_id)
    existing = lp.placement_objects(coll) if coll is not None else {}
    loader = AssetLoader(scene)
    for obj in existing.values():  # a rebuild gives new copies of an asset the mesh its copies already share
        if obj.type == "MESH" and obj.data.get(lp.PREFIX + "asset_id") == obj.get(lp.ASSET_ID):
            loader.meshes.setdefault(str(obj[lp.ASSET_ID]), obj.data)
    real = [p for p in layout.placements if not openings.is_placeholder(p.asset_id)]
    try:  # every file loads before the scene changes: a failure leaves it untouched
        for i, p in enumerate(real):
            if p.asset_id not in loader.meshes:
                report(i / max(1, len(real)), f"loading asset {p.asset_id}")
            loader.mesh_for(assets[p.asset_id])
    except BaseException:  # an import error, or a CancelledError raised by ``progress``
        loader.discard()
        raise
    build_notes = list(layout.notes)
    if coll is None:
        label = Path(run_dir).name if run_dir else run_id
        coll = bpy.data.collections.new(f"Imaginarium {label}")
        coll[lp.ROLE], coll[lp.RUN_ID] = "run", run_id
    if coll.name not in {c.name for c in scene.collection.children_recursive}:
        scene.collection.children.link(coll)
    coll[lp.PLANES] = json.dumps([p.to_dict() for p in layout.planes])
    coll[lp.TEXTURES] = json.dumps(dict(layout.textures))
    per_object = _candidate_lists(candidates)
    kept = _place_objects(coll, layout, run_id, existing, loader, per_object, assets, build_notes)
    _retire(coll, [o for oid, o in existing.items() if oid not in kept], scene)
    room = _build_room(coll, layout, catalogue_or_assets, textures, scene, assets, build_notes)
    cam_obj = None
    if layout.camera is not None:
        use = run_binding.wants_reference_camera(scene) if activate_camera is None else activate_camera
        cam_obj = _build_camera(coll, layout.camera, reference_image, scene if use else None)
    if reference_image:
        coll[render_preview.REFERENCE] = str(reference_image)
    report(0.95, "lighting the room")
    lamps = [(o, kind) for o in lp.placement_objects(coll).values()
             if (kind := lights.lamp_kind(assets.get(str(o[lp.ASSET_ID])), _placeholder_word(o))) is not None]
    objs = lp.placement_objects(coll)
    panes = [objs[w.object_id] for w in room["windows"] if w.object_id in objs]
    lights.build_lights(coll, lamps, room["windows"], room, cam_obj.matrix_world.translation if cam_obj else None,
                        build_notes, see_through=panes)
    if fit_exposure if fit_exposure is not None else bool(reference_image and cam_obj is not None):
        render_preview.fit_to_photo(coll, reference_image, notes=build_notes, source=scene)
    conflicts = scene_conflicts.find_conflicts(scene, room["poly"], room["z0"], room["z1"])
    scene_conflicts.record(coll, conflicts)
    build_notes += [c["message"] for c in conflicts]
    coll[NOTES] = json.dumps(build_notes)
    if notes is not None:
        notes.extend(build_notes)
    report(1.0, f"built {len(layout.placements)} objects into {coll.name}")
    return coll


def _placeholder_word(obj: bpy.types.Object) -> str:
    asset_id = str(obj.get(lp.ASSET_ID, ""))
    return openings.placeholder_label(asset_id) if openings.is_placeholder(asset_id) else ""


def _candidate_lists(candidates: Any) -> dict[str, list[dict]]:
    if candidates is None:
        return {}
    if isinstance(candidates, Mapping):
        return {str(k): list(v) for k, v in candidates.items()}
    return {c.object_id: [{"asset_id": a.asset_id, "score": a.score} for a in c.assets]
            for c in candidates.candidates}


def _mesh_for(p: Any, loader: AssetLoader, assets: Mapping[str, Any], notes: list[str]) -> bpy.types.Mesh:
    if not openings.is_placeholder(p.asset_id):
        return loader.meshes[p.asset_id]
    label = openings.placeholder_label(p.asset_id)
    size = openings.asset_size(p, assets)
    extra = "" if p.box is not None else " (the layout gave no size: a 0.5 m cube)"
    notes.append(f"{p.object_id}: no library asset for '{label}'; a labelled placeholder box stands in{extra}.")
    return openings.placeholder_mesh(label, size)


def _place_objects(coll: bpy.types.Collection, layout: Any, run_id: str, existing: dict[str, bpy.types.Object],
                   loader: AssetLoader, per_object: dict[str, list[dict]], assets: Mapping[str, Any],
                   notes: list[str]) -> set[str]:
    placed = set()
    for order, p in enumerate(layout.placements):
        obj = existing.get(p.object_id)
        mesh = _mesh_for(p, loader, assets, notes)
        if obj is None:
            obj = bpy.data.objects.new(p.object_id, mesh)
            coll.objects.link(obj)
        elif obj.get(lp.ASSET_ID) != p.asset_id or obj.data != mesh and openings.is_placeholder(p.asset_id):
            old = obj.data
            obj.data = mesh  # asset swapped: new mesh, same object
            if old is not None and old.users == 0:
                bpy.data.meshes.remove(old)
        obj.show_name = openings.is_placeholder(p.asset_id)  # a placeholder says what it stands for
        previous = json.loads(obj.get(lp.CANDIDATES, "[]"))
        cands = per_object.get(p.object_id) or previous or [{"asset_id": p.asset_id, "score": None}]
        obj.matrix_world = lp.world_matrix(p.transform, p.scale)
        lp.tag_placement(obj, p, run_id, cands)
        obj[ORDER] = order
        mine = list(p.notes) + [n for n in notes if n.startswith(f"{p.object_id}: ")]
        obj[NOTES] = json.dumps(list(dict.fromkeys(mine)))
        placed.add(p.object_id)
    return placed


def _retire(coll: bpy.types.Collection, objects: list[bpy.types.Object], scene: bpy.types.Scene) -> None:
    """Objects a rebuild no longer has go to a hidden "(removed)" collection, never deleted."""
    if not objects:
        return
    run_id = str(coll[lp.RUN_ID])
    removed = next((c for c in bpy.data.collections if c.get(lp.ROLE) == "removed" and c.get(lp.RUN_ID) == run_id),
                   None)
    if removed is None:
        removed = bpy.data.collections.new(f"{coll.name} (removed)")
        removed[lp.ROLE], removed[lp.RUN_ID] = "removed", run_id
    if removed.name not in {c.name for c in scene.collection.children_recursive}:
        scene.collection.children.link(removed)
    removed.hide_render = True
    removed.hide_viewport = True
    for obj in objects:
        obj[lp.ROLE] = "removed"
        if removed.objects.get(obj.name) is None:
            removed.objects.link(obj)
        coll.objects.unlink(obj)


def _room_hints(layout: Any, assets: Mapping[str, Any]) -> list[tuple[float, float, float]]:
    """Points inside the room: every placed object's footprint corners and the camera."""
    hints = []
    for p in layout.placements:
        if openings.opening_kind(p, assets):  # a window's box reaches through its wall
            continue
        size = openings.asset_size(p, assets)
        m = lp.world_matrix(p.transform, p.scale)
        for sx in (-0.5, 0.5):
            for sy in (-0.5, 0.5):
                hints.append(tuple(m @ Vector((sx * size[0], sy * size[1], 0.0))))
    if layout.camera is not None:
        hints.append(tuple(layout.camera.world_from_camera[i][3] for i in range(3)))
    return hints


def _build_room(coll: bpy.types.Collection, layout: Any, catalogue: Any, textures: Any,
                scene: bpy.types.Scene, assets: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """Floor, ceiling and walls (with openings for windows and doors); the room's outline for lights."""
    planes = list(layout.planes)
    poly = room_meshes.room_polygon(planes, _room_hints(layout, assets))
    if len(poly) < 3:
        raise BadInputError("The room's walls enclose no floor area (their normals may point out of the room).",
                            "Check Layout.planes: each wall normal must point into the room.")
    z0 = room_meshes.floor_height(planes)
    z1 = room_meshes.ceiling_height(planes, z0)
    choices = materials.resolve_textures(layout.textures, catalogue, textures)
    for choice in choices.values():
        notes.extend(choice.notes)
    by_id = {p.id: p for p in planes}
    floor = by_id.get("floor") or schema.Plane(id="floor", kind="floor", normal=(0, 0, 1), offset=z0)
    ceiling = by_id.get("ceiling") or schema.Plane(id="ceiling", kind="ceiling", normal=(0, 0, -1), offset=-z1)
    walls = {p.id: (p, seg) for p in planes if p.kind == "wall" and (seg := room_meshes.wall_segment(p, poly))}
    holes, windows = openings.find_openings(layout.placements, assets, walls, z0, z1, notes)
    wanted: dict[str, tuple[Any, Any, str]] = {
        "floor": (floor, room_meshes.floor_mesh("floor", poly, z0), "floor"),
        "ceiling": (ceiling, room_meshes.ceiling_mesh("ceiling", poly, z1), "ceiling"),
    }
    for wid, (p, seg) in walls.items():
        wanted[wid] = (p, room_meshes.wall_mesh(wid, seg, z0, z1, p.normal, holes.get(wid, ())), "wall")
    existing = lp.structure_objects(coll)
    for plane_id, (plane, mesh, kind) in wanted.items():
        choice = choices[kind]
        obj = existing.get(plane_id)
        if obj is not None:
            old = obj.data
            keep_materials = obj.get(lp.TEXTURE_ID) == choice.texture_id and old is not None and len(old.materials)
            if keep_materials:  # same texture as last build: keep what the artist may have assigned
                for mat in old.materials:
                    mesh.materials.append(mat)
            obj.data = mesh
            obj.matrix_world = Matrix.Identity(4)
            if old is not None and old.users == 0:
                bpy.data.meshes.remove(old)
        else:
            obj = bpy.data.objects.new(plane_id, mesh)
            coll.objects.link(obj)
        if not len(mesh.materials):
            mesh.materials.append(materials.surface_material(choice, notes))
        obj[lp.ROLE] = "structure"
        obj[lp.PLANE] = json.dumps(plane.to_dict())
        obj[lp.TEXTURE_ID] = choice.texture_id
        obj[lp.RUN_ID] = coll[lp.RUN_ID]
        obj[OPENINGS] = json.dumps(holes.get(plane_id, []))
    stale = [o for pid, o in existing.items() if pid not in wanted]
    _retire(coll, stale, scene)
    return {"poly": poly, "z0": z0, "z1": z1, "windows": windows}


def _build_camera(coll: bpy.types.Collection, cam: Any, reference_image: str | None,
                  scene: bpy.types.Scene | None) -> bpy.types.Object:
    obj = lp.camera_object(coll)
    if obj is None:
        obj = bpy.data.objects.new("camera", bpy.data.cameras.new("Imaginarium camera"))
        coll.objects.link(obj)
    camera_setup.apply_camera(obj, cam, scene)
    obj[lp.RUN_ID] = coll[lp.RUN_ID]
    if reference_image:
        camera_setup.set_background(obj, reference_image)
    if scene is not None:
        scene.camera = obj
    return obj


def read_layout(collection: bpy.types.Collection) -> schema.Layout:
    """The Layout the collection shows now: current transforms (the artist's nudges) and properties.

    Objects the artist duplicated get their own object ids (written onto them), so a copied
    chair reads back as a new placement rather than hiding the original.
    """
    if collection.get(lp.ROLE) != "run":
        raise BadInputError(f"Collection {collection.name} is not an Imaginarium run.",
                            "Pick the collection named 'Imaginarium <run id>' that a build made.")
    bpy.context.view_layer.update()  # matrix_world of objects moved from Python is stale until then
    lp.claim_duplicates(collection)
    objs = sorted(lp.placement_objects(collection).values(), key=lambda o: (int(o.get(ORDER, 1 << 30)), o.name))
    placements = [schema.Placement(**_fields(o)) for o in objs]
    planes = [schema.Plane.from_dict(d) for d in json.loads(collection.get(lp.PLANES, "[]"))]
    structures = lp.structure_objects(collection)
    planes = [_moved_plane(p, structures[p.id].matrix_world) if p.id in structures else p for p in planes]
    cam_obj = lp.camera_object(collection)
    camera = camera_setup.read_camera(cam_obj, schema.Camera) if cam_obj is not None else None
    return schema.Layout(placements=placements, planes=planes, textures=json.loads(collection.get(lp.TEXTURES, "{}")),
                         camera=camera, run_id=str(collection[lp.RUN_ID]))


def _fields(obj: bpy.types.Object) -> dict[str, Any]:
    """Placement fields of a built object, with its notes, and a placeholder's box (its only size record)."""
    fields = lp.placement_fields(obj)
    try:
        fields.setdefault("notes", [str(n) for n in json.loads(obj.get(NOTES, "[]"))])
    except ValueError:
        pass
    if openings.is_placeholder(fields["asset_id"]) and obj.type == "MESH" and fields.get("box") is None:
        size = Vector([max(v.co[i] for v in obj.data.vertices) - min(v.co[i] for v in obj.data.vertices)
                       for i in range(3)]) if len(obj.data.vertices) else Vector((0.5, 0.5, 0.5))
        scaled = [size[i] * fields["scale"][i] for i in range(3)]
        m = obj.matrix_world
        centre = m @ Vector((0.0, 0.0, size.z / 2))
        yaw = math.atan2(m[1][0], m[0][0])
        fields["box"] = schema.Box3D(center=tuple(centre), size=tuple(scaled), yaw=yaw)
    return fields


def _moved_plane(plane: Any, m: Any) -> Any:
    """The plane after the artist moved its mesh by ``m`` (identity when it was not moved)."""
    if all(abs(m[i][j] - (1.0 if i == j else 0.0)) < 1e-9 for i in range(4) for j in range(4)):
        return plane
    n = Vector(plane.normal)
    point = m @ (n * plane.offset)
    n2 = (m.to_3x3().inverted_safe().transposed() @ n).normalized()
    return schema.Plane(id=plane.id, kind=plane.kind, normal=tuple(n2), offset=float(n2.dot(point)),
                        extent=[tuple(m @ Vector(e)) for e in plane.extent])


def apply_layout(collection: bpy.types.Collection, layout: Any, catalogue_or_assets: Any = None) -> None:
    """Write a (re-)solved layout's transforms and properties onto the run's existing objects.

    An asset swap needs ``catalogue_or_assets`` to load the new asset; placements that have no
    object in the collection are an error (use :func:`build_layout` to add objects).
    """
    objs = lp.placement_objects(collection)
    absent = [p.object_id for p in layout.placements if p.object_id not in objs]
    if absent:
        raise BadInputError(f"These objects are not in {collection.name}: {', '.join(absent)}.",
                            "Rebuild the run with build_layout to add new objects.")
    swaps = [p for p in layout.placements if objs[p.object_id].get(lp.ASSET_ID) != p.asset_id
             and not openings.is_placeholder(p.asset_id)]
    loader = AssetLoader()
    for p in layout.placements:  # a placeholder needs no catalogue: its box is its asset
        if objs[p.object_id].get(lp.ASSET_ID) != p.asset_id and openings.is_placeholder(p.asset_id):
            loader.meshes[p.asset_id] = openings.placeholder_mesh(openings.placeholder_label(p.asset_id),
                                                                  openings.asset_size(p, {}))
    if swaps:
        if catalogue_or_assets is None:
            raise BadInputError(f"The layout swaps assets for {', '.join(p.object_id for p in swaps)}.",
                                "Pass the catalogue to apply_layout, or rebuild with build_layout.")
        assets = asset_index(catalogue_or_assets)
        for p in swaps:
            if p.asset_id not in assets:
                raise AssetImportError(f"Asset {p.asset_id} is not in the catalogue.", "Re-run matching.")
            loader.mesh_for(assets[p.asset_id])
    for p in layout.placements:
        obj = objs[p.object_id]
        if p.asset_id in loader.meshes and obj.get(lp.ASSET_ID) != p.asset_id:
            obj.data = loader.meshes[p.asset_id]
        cands = json.loads(obj.get(lp.CANDIDATES, "[]")) or [{"asset_id": p.asset_id, "score": None}]
        obj.matrix_world = lp.world_matrix(p.transform, p.scale)
        lp.tag_placement(obj, p, str(collection[lp.RUN_ID]), cands)
