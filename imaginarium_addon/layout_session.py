"""Solve a run's layout, build it, and re-solve it after the artist's edits — on Blender's main thread.

The run folder is the memory: ``observation.json`` and ``candidates.json`` (written by the
worker) define the problem, ``layout.json`` is the last solved layout. The run's collection
records its run folder and library, so re-optimising works after the .blend is saved and
reopened. Solving takes tens of milliseconds (see scripts/bench_layout.py), so it runs inline.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import bpy
import numpy as np

from ..core.config import LayoutSettings
from ..core.errors import LibraryError
from ..core.layout.problem import LayoutProblem, build_problem, problem_from_layout
from ..core.layout.scaling import strategy_scale
from ..core.layout.solver import reoptimise, solve
from ..core.schema import CandidateSet, Layout, Observation
from . import layout_props as lp
from .scene_builder import apply_layout, build_layout, read_layout

RUN_DIR = lp.PREFIX + "run_dir"
LIBRARY_DIR = lp.PREFIX + "library_dir"
MOVE_TOL_M = 1e-3      # a placement moved more than this since the last solve counts as the artist's edit
TURN_TOL_RAD = 1e-3
_problems: dict[tuple[str, str], tuple[tuple[float, ...], LayoutProblem]] = {}


def _catalogue(library_dir: str | Path) -> Any:
    from ..core.library.catalogue import load_catalogue

    return load_catalogue(library_dir)


def library_proxies(library_dir: str | Path) -> Any:
    """The library's collision proxies, or None (the solver then uses each asset's box)."""
    from ..core.library.store import FeatureStore

    try:
        return FeatureStore.open(Path(library_dir) / "derived")
    except LibraryError:
        return None


def _textures(library_dir: str | Path) -> Any:
    from ..core.library.textures import load_textures

    try:
        return load_textures(library_dir)
    except LibraryError:
        return None


def problem_for(run_dir: str | Path, library_dir: str | Path) -> LayoutProblem:
    """The run's problem from its observation and candidates (cached until those files change)."""
    run_dir = Path(run_dir)
    obs_path, cand_path = run_dir / "observation.json", run_dir / "candidates.json"
    stamp = tuple(p.stat().st_mtime if p.exists() else -1.0 for p in (obs_path, cand_path))
    key = (str(run_dir), str(library_dir))
    cached = _problems.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    problem = build_problem(Observation.load(obs_path), CandidateSet.load(cand_path), _catalogue(library_dir),
                            proxies=library_proxies(library_dir))
    problem.run_id = run_dir.name
    _problems[key] = (stamp, problem)
    return problem


def solve_and_build(run_dir: str | Path, library_dir: str | Path,
                    progress: Callable[[float, str], None] | None = None) -> bpy.types.Collection:
    """Solve the run's problem, save ``layout.json``, build the run's collection.

    Running again on a run that is already built never undoes the artist's work: the existing
    collection is re-optimised with the objects they moved (or pinned) kept where they are.
    """
    run_dir = Path(run_dir)
    existing = lp.find_run_collection(run_dir.name)
    if existing is not None and existing.get(RUN_DIR) == str(run_dir) and (run_dir / "layout.json").is_file():
        existing[LIBRARY_DIR] = str(library_dir)
        reoptimise_collection(existing)
        return existing
    problem = problem_for(run_dir, library_dir)
    layout = solve(problem)
    layout.run_id = problem.run_id
    layout.save(run_dir / "layout.json")
    observation = Observation.load(run_dir / "observation.json")
    image = observation.image_path if Path(observation.image_path).is_file() else None
    coll = build_layout(layout, problem.catalogue, run_id=layout.run_id, reference_image=image,
                        candidates=CandidateSet.load(run_dir / "candidates.json"),
                        textures=_textures(library_dir), progress=progress)
    coll[RUN_DIR], coll[LIBRARY_DIR] = str(run_dir), str(library_dir)
    return coll


def run_collection_of(obj: bpy.types.Object) -> bpy.types.Collection | None:
    """The run collection an object belongs to (None for the artist's own objects)."""
    run_id = obj.get(lp.RUN_ID) if obj is not None else None
    return lp.find_run_collection(str(run_id)) if run_id else None


def _session(coll: bpy.types.Collection) -> tuple[Path | None, LayoutProblem, Any]:
    """The run folder (if it still exists), the problem and the catalogue for a built collection."""
    library_dir = coll.get(LIBRARY_DIR)
    if not library_dir:
        raise LibraryError(f"{coll.name} does not say which asset library it was built from.",
                           "Build the room again from the From Image section.")
    run_dir = Path(coll.get(RUN_DIR, ""))
    if (run_dir / "observation.json").is_file() and (run_dir / "candidates.json").is_file():
        problem = problem_for(run_dir, library_dir)
        return run_dir, problem, problem.catalogue
    catalogue = _catalogue(library_dir)  # run folder gone: re-solve from the scene alone
    return None, problem_from_layout(read_layout(coll), catalogue, library_proxies(library_dir)), catalogue


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


def reoptimise_collection(coll: bpy.types.Collection, *, only: set[str] | None = None,
                          pin_edited: bool = True, unpinned: set[str] = frozenset()) -> Layout:
    """Read the scene back, keep the artist's edits (unless asked), re-solve the rest, write it back.

    ``only``: re-solve just these objects (everything else stays as it is); ``unpinned``: objects
    re-solved even if they were edited (a swap re-places the swapped object).
    """
    run_dir, problem, catalogue = _session(coll)
    current = read_layout(coll)
    previous = Layout.load(run_dir / "layout.json") if run_dir and (run_dir / "layout.json").is_file() else None
    edited = [i for i in edited_ids(current, previous) if i not in unpinned]
    if only is not None:  # freeze everything outside the selection for this solve
        for p in current.placements:
            if p.object_id not in only and not p.pinned:
                p.pinned = True
                edited.append(p.object_id)
    result = reoptimise(current, problem, sorted(set(edited)), pin_edited=pin_edited, previous=previous)
    frozen = {p.object_id for p in read_layout(coll).placements if p.pinned}
    for p in result.placements:  # a temporary freeze must not stick as the artist's pin
        if only is not None and p.object_id not in only:
            p.pinned = p.object_id in frozen
    apply_layout(coll, result, catalogue)
    if run_dir is not None:
        result.save(run_dir / "layout.json")
    return result


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
    import json

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
    """Label, group and support of a built object for the sidebar (label and group come from the run's
    scene graph when its run folder still exists)."""
    details = {"object_id": str(obj.get(lp.OBJECT_ID, "")), "asset_id": str(obj.get(lp.ASSET_ID, "")),
               "relation": str(obj.get(lp.RELATION, "")), "support": str(obj.get(lp.PARENT, "")) or "none",
               "label": "", "group": ""}
    coll = run_collection_of(obj)
    run_dir = Path(coll.get(RUN_DIR, "")) if coll is not None else None
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
    if run_dir is not None:
        result.save(run_dir / "layout.json")
    return result


def metrics_of(coll: bpy.types.Collection) -> dict[str, float | int]:
    """The layout metrics (collisions, floating, outside the room, wall alignment) of the scene as it is."""
    from ..core.layout.metrics import evaluate

    _, problem, _ = _session(coll)
    return evaluate(read_layout(coll), problem)
