"""A run's room in Blender: build its solved layout, read the artist's edits back, re-solve around them.

Solving is :mod:`core.pipeline`'s (``solve_stage``, ``load_problem``); this module is the Blender
side of it, on the main thread. The run folder is the memory: ``observation.json`` and
``candidates.json`` (written by the worker) define the problem, ``layout.json`` is the last
solved layout (committed as the solve stage's output, so a re-run of the pipeline keeps it). The
run's collection records its run folder and library, so re-optimising works after the .blend is
saved and reopened. Solving takes tens of milliseconds (scripts/bench_layout.py), so it runs inline.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

import bpy
import numpy as np

from ..core import pipeline
from ..core.config import LayoutSettings, Settings
from ..core.errors import LibraryError
from ..core.layout.problem import LayoutProblem, problem_from_layout
from ..core.layout.scaling import strategy_scale
from ..core.layout.solver import reoptimise
from ..core.runfolder import ensure_run_id
from ..core.schema import CandidateSet, Layout, Observation
from . import layout_props as lp
from .scene_builder import apply_layout, build_layout, read_layout

RUN_DIR = lp.PREFIX + "run_dir"
LIBRARY_DIR = lp.PREFIX + "library_dir"
MOVE_TOL_M = 1e-3      # a placement moved more than this since the last solve counts as the artist's edit
TURN_TOL_RAD = 1e-3
_MEMO_SIZE = 4
# A memo, not state: problems keyed on the content of everything they are built from (pipeline.solve_key),
# so the sidebar, which asks on every redraw, does not rebuild one; solving never changes a problem.
_problem_memo: dict[str, LayoutProblem] = {}


def settings() -> Settings:
    """The settings in force here (IMAGINARIUM_CONFIG and IMAGINARIUM_* variables over the defaults)."""
    return Settings.load()


def library_proxies(library_dir: str | Path) -> Any:
    """The library's collision proxies, or None (the solver then uses each asset's box)."""
    return pipeline.library_proxies(library_dir)


def _textures(library_dir: str | Path) -> Any:
    from ..core.library.textures import load_textures

    try:
        return load_textures(library_dir)
    except LibraryError:
        return None


def problem_for(run_dir: str | Path, library_dir: str | Path) -> LayoutProblem:
    """The run's problem (see :func:`core.pipeline.load_problem`), memoised on its inputs' content."""
    current = settings()
    key = pipeline.solve_key(Path(run_dir), library_dir, current)
    if key not in _problem_memo:
        while len(_problem_memo) >= _MEMO_SIZE:
            _problem_memo.pop(next(iter(_problem_memo)))
        _problem_memo[key] = pipeline.load_problem(run_dir, library_dir, current)
    return _problem_memo[key]


def built_collection(run_dir: str | Path) -> bpy.types.Collection | None:
    """The collection a previous build of this run made, if it is still in the file (bound to the run's id)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    coll = lp.find_run_collection(ensure_run_id(run_dir))
    recorded = run_dir_of(coll)
    if recorded is None or recorded.resolve() != run_dir.resolve():
        return None  # (a copied folder keeps its id: the collection belongs to the original)
    return coll


def build_run(run_dir: str | Path, library_dir: str | Path, layout: Layout,
              progress: Callable[[float, str], None] | None = None,
              notes: list[str] | None = None) -> bpy.types.Collection:
    """Build the run's solved ``layout`` into its own collection (with reference image, candidates, textures).

    The collection is bound to the run folder's own id; the scene camera and render size change
    only when the artist ticks *Use reference camera* (on by default only in a scene without a
    camera). ``notes`` receives the build's fallbacks (default lights, unreadable textures, the
    artist's objects inside the new room). Check :func:`built_collection` first: building over a
    run the artist has worked on would put every object back where the layout says.
    """
    from ..core.library.textures import texture_notes

    run_dir = Path(run_dir)
    observation = Observation.load(run_dir / "observation.json")
    textures = _textures(library_dir)
    if notes is not None and textures:
        notes.extend(texture_notes(textures))
    settings = getattr(bpy.context.scene, "imaginarium", None)
    coll = build_layout(layout, pipeline.load_catalogue(library_dir), run_dir=run_dir,
                        reference_image=observation.image_path,
                        activate_camera=settings.use_reference_camera if settings is not None else None,
                        candidates=CandidateSet.load(run_dir / "candidates.json"),
                        textures=textures, progress=progress, notes=notes)
    coll[RUN_DIR], coll[LIBRARY_DIR] = str(run_dir), str(library_dir)
    return coll


def run_collection_of(obj: bpy.types.Object) -> bpy.types.Collection | None:
    """The run collection an object belongs to (None for the artist's own objects)."""
    run_id = obj.get(lp.RUN_ID) if obj is not None else None
    return lp.find_run_collection(str(run_id)) if run_id else None


def run_dir_of(coll: bpy.types.Collection | None) -> Path | None:
    """The run folder a built collection records, or None when it records none.

    Why: ``Path("")`` is Blender's current folder, so a collection without a run folder would read a
    stray ``./observation.json`` from wherever Blender was started.
    """
    value = coll.get(RUN_DIR) if coll is not None else None
    return Path(str(value)) if value else None


def _session(coll: bpy.types.Collection) -> tuple[Path | None, LayoutProblem, Any]:
    """The run folder (if it still exists), the problem and the catalogue for a built collection."""
    library_dir = coll.get(LIBRARY_DIR)
    if not library_dir:
        raise LibraryError(f"{coll.name} does not say which asset library it was built from.",
                           "Build the room again from the From Image section.")
    run_dir = run_dir_of(coll)
    if run_dir is not None and (run_dir / "observation.json").is_file() and (run_dir / "candidates.json").is_file():
        problem = problem_for(run_dir, library_dir)
        return run_dir, problem, problem.catalogue
    catalogue = pipeline.load_catalogue(library_dir)  # run folder gone: re-solve from the scene alone
    proxies = library_proxies(library_dir)
    if proxies is None:  # no derived data either: the meshes the artist sees are the collision shapes
        from .bvh_adapter import CollectionProxies

        proxies = CollectionProxies(coll)
    return None, problem_from_layout(read_layout(coll), catalogue, proxies), catalogue


def _commit(coll: bpy.types.Collection, run_dir: Path | None, layout: Layout) -> None:
    """Save a re-solved layout as the run's layout.json (the solve stage's output)."""
    if run_dir is not None:
        pipeline.commit_layout(run_dir, layout, coll[LIBRARY_DIR], settings())


def edited_ids(current: Layout, previous: Layout | None) -> list[str]:
    """Objects whose transform differs from the last solved layout: what the artist moved."""
    if previous is None:
        return []
    before = previous.by_id()
    out = []
    for p in current.placements:
        old = before.get(p.object_id)
        if old is None:
            out.append(p.object_id)
            continue
        a, b = np.asarray(p.transform), np.asarray(old.transform)
        moved = np.linalg.norm(a[:3, 3] - b[:3, 3]) > MOVE_TOL_M
        turned = np.abs(a[:3, :3] - b[:3, :3]).max() > TURN_TOL_RAD
        scaled = np.abs(np.asarray(p.scale) - np.asarray(old.scale)).max() > 1e-4
        if moved or turned or scaled:
            out.append(p.object_id)
    return out


def reoptimise_run(coll: bpy.types.Collection, *, only: set[str] | None = None, pin_edited: bool = True,
                   unpinned: set[str] = frozenset(), library_dir: str | Path | None = None) -> tuple[Layout, list[str]]:
    """Read the scene back, keep the artist's edits (unless asked), re-solve the rest, write it back.

    ``only``: re-solve just these objects (everything else stays as it is); ``unpinned``: objects
    re-solved even if they were edited (a swap re-places the swapped object); ``library_dir``: the
    library to use from now on (default: the one the collection was built from). Returns the layout
    and the ids that were actually re-solved (not pinned, not frozen, not kept as edited).
    """
    if library_dir is not None:
        coll[LIBRARY_DIR] = str(library_dir)
    run_dir, problem, catalogue = _session(coll)
    current = read_layout(coll)
    previous = Layout.load(run_dir / "layout.json") if run_dir and (run_dir / "layout.json").is_file() else None
    edited = [i for i in edited_ids(current, previous) if i not in unpinned]
    if only is not None:  # freeze everything outside the selection for this solve
        for p in current.placements:
            if p.object_id not in only and not p.pinned:
                p.pinned = True
                edited.append(p.object_id)
    kept = set(edited) if pin_edited else set()
    resolved = [p.object_id for p in current.placements if not p.pinned and p.object_id not in kept]
    result = reoptimise(current, problem, sorted(set(edited)), pin_edited=pin_edited, previous=previous)
    frozen = {p.object_id for p in read_layout(coll).placements if p.pinned}
    for p in result.placements:  # a temporary freeze must not stick as the artist's pin
        if only is not None and p.object_id not in only:
            p.pinned = p.object_id in frozen
    apply_layout(coll, result, catalogue)
    _commit(coll, run_dir, result)
    return result, resolved


def reoptimise_collection(coll: bpy.types.Collection, *, only: set[str] | None = None,
                          pin_edited: bool = True, unpinned: set[str] = frozenset(),
                          library_dir: str | Path | None = None) -> Layout:
    """:func:`reoptimise_run` without the list of re-solved ids."""
    return reoptimise_run(coll, only=only, pin_edited=pin_edited, unpinned=unpinned, library_dir=library_dir)[0]


def swap_asset(obj: bpy.types.Object, asset_id: str) -> Layout:
    """Give ``obj`` another asset: same place and relations, scaled by the new asset's rule, then re-solve."""
    coll = run_collection_of(obj)
    if coll is None:
        raise LibraryError(f"{obj.name} is not part of an Imaginarium room.", "Select an object a build made.")
    _, problem, catalogue = _session(coll)
    assets = getattr(catalogue, "assets", catalogue)
    if asset_id not in assets:
        raise LibraryError(f"Asset {asset_id} is not in the library.", "Pick one of the listed candidates.")
    current = read_layout(coll)
    oid = str(obj[lp.OBJECT_ID])
    placement = current.by_id()[oid]
    old_asset, new_asset = assets[placement.asset_id], assets[asset_id]
    extents = np.asarray(old_asset.size) * np.asarray(placement.scale)  # what the object measures now
    limit = problem.settings.max_scale_change if problem else LayoutSettings().max_scale_change
    scale = strategy_scale(new_asset.scaling_strategy, np.maximum(new_asset.size, 1e-3), extents, limit)
    placement.asset_id, placement.scale = asset_id, tuple(float(s) for s in scale)
    apply_layout(coll, current, catalogue)
    return reoptimise_collection(coll, unpinned={oid})


def candidates_of(obj: bpy.types.Object) -> list[dict]:
    try:
        return list(json.loads(obj.get(lp.CANDIDATES, "[]")))
    except ValueError:
        return []


def next_candidate(obj: bpy.types.Object) -> str | None:
    """The candidate after the current asset in the ranked list (wrapping around)."""
    ranked = [c["asset_id"] for c in candidates_of(obj) if c.get("asset_id")]
    if len(ranked) < 2:
        return None
    current = str(obj.get(lp.ASSET_ID, ""))
    i = ranked.index(current) if current in ranked else -1
    return ranked[(i + 1) % len(ranked)]


def yaw_of(transform: Any) -> float:
    m = np.asarray(transform)
    return math.atan2(m[1, 0], m[0, 0])


def object_details(obj: bpy.types.Object) -> dict[str, str]:
    """Label, group, support and notes of a built object for the sidebar (label and group come from the
    run's scene graph when its run folder still exists; notes, one per line, from the object itself)."""
    details = {"object_id": str(obj.get(lp.OBJECT_ID, "")), "asset_id": str(obj.get(lp.ASSET_ID, "")),
               "relation": str(obj.get(lp.RELATION, "")), "support": str(obj.get(lp.PARENT, "")) or "none",
               "label": "", "group": "", "notes": "\n".join(lp.object_notes(obj))}
    coll = run_collection_of(obj)
    run_dir = run_dir_of(coll)
    if run_dir is not None and (run_dir / "observation.json").is_file() and coll.get(LIBRARY_DIR):
        try:
            item = problem_for(run_dir, coll[LIBRARY_DIR]).by_id().get(details["object_id"])
        except Exception:  # the sidebar must draw even if the run folder is damaged; actions report it
            item = None
        if item is not None:
            details["label"], details["group"] = item.label, item.group or ""
    return details


def settle_collection(coll: bpy.types.Collection, notes: list[str] | None = None) -> Layout:
    """Physics settle of the objects resting on others; the settled transforms become the solved layout."""
    from .physics import settle

    run_dir, _, _ = _session(coll)
    result = settle(coll, read_layout(coll), notes=notes)
    _commit(coll, run_dir, result)
    return result


def metrics_of(coll: bpy.types.Collection) -> dict[str, float | int]:
    """The layout metrics (collisions, floating, outside the room, wall alignment) of the scene as it is."""
    from ..core.layout.metrics import evaluate

    _, problem, _ = _session(coll)
    return evaluate(read_layout(coll), problem)
