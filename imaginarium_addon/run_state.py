"""Which built room the artist is working on, and what its run kept but did not place.

Why here and not in ``operators/``: both are read-only questions about scene state and the run
folder, asked by panels on every redraw as well as by operators' ``poll``/``execute``. Keeping
them in the add-on runtime lets panels import no operator module (panels draw, operators act),
and gives both one answer.
"""
from __future__ import annotations


import bpy

from ..core.errors import ImaginariumError
from . import layout_props as lp
from . import layout_session


def active_run(context: bpy.types.Context) -> bpy.types.Collection | None:
    """The run of the active object, else the only run in the scene (None when there are several or none)."""
    obj = context.active_object
    coll = layout_session.run_collection_of(obj) if obj is not None else None
    if coll is not None:
        return coll
    runs = [c for c in bpy.data.collections if c.get(lp.ROLE) == "run"
            and c.name in {x.name for x in context.scene.collection.children_recursive}]
    return runs[0] if len(runs) == 1 else None


# observation.json path → (its mtime in ns, the removed objects read from it)
_removed_memo: dict[str, tuple[float, list[dict[str, str]]]] = {}


def removed_in_run(coll: bpy.types.Collection | None) -> list[dict[str, str]]:
    """Objects of the run kept but not placed (the VLM's keep = false, absorbed by a composite…), for the panel.

    Read from the run's observation.json, re-read only when that file changed (the panel draws often).
    """
    run_dir = layout_session.run_dir_of(coll)
    if run_dir is None:
        return []
    path = run_dir / "observation.json"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return []
    cached = _removed_memo.get(str(path))
    if cached is None or cached[0] != stamp:
        from ..core.perception.verdicts import removed_objects
        from ..core.schema import Observation

        try:
            cached = (stamp, removed_objects(Observation.load(path)))
        except ImaginariumError:  # a damaged run folder: the panel still draws; Restore reports it
            cached = (stamp, [])
        _removed_memo[str(path)] = cached
    return cached[1]
