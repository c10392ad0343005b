"""3D boxes for all detected objects at once: geometry plus what the objects are.

:func:`core.geometry.boxes.object_box` measures one mask; this module adds the knowledge that
needs labels — the class size prior that completes hidden sides (from the caller's library when
it has one, else the shipped table from the published catalogue), whether the class stands on
the floor, and which supports are plausible — and the second pass in which an object whose
bottom is hidden is extended down onto the other objects' tops.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..geometry.boxes import ObjectBox, SupportSurface, object_box
from ..geometry.camera import Intrinsics
from ..library.priors import SizePriors, default_priors
from .support_rules import SupportRules, load_rules

FLAT_M = 0.05


def measure_objects(objects: Sequence[tuple[str, str, np.ndarray]], depth: np.ndarray, k: Intrinsics, room: Any, *,
                    priors: SizePriors | None = None, rules: SupportRules | None = None) -> dict[str, ObjectBox | None]:
    """``objects``: (id, label, mask); ``room``: a :class:`core.geometry.room.RoomEstimate`. Returns id → box or None."""
    priors = priors or default_priors()
    rules = rules or load_rules()
    w = room.world_from_camera
    cam_xy = (float(w[0, 3]), float(w[1, 3]))
    labels = {oid: label for oid, label, _ in objects}

    def measure(label: str, mask: np.ndarray, supports: list[SupportSurface] | None,
                obstacles: list | None) -> ObjectBox | None:
        return object_box(mask, depth, k, w, planes=room.planes, supports=supports, prior=priors.lookup(label),
                          floor_standing=rules.stands_on_floor(label), label=label,
                          plausible=lambda sup: rules.plausibility(label, sup.id, sup.label), obstacles=obstacles)

    first = {oid: measure(label, mask, None, None) for oid, label, mask in objects}
    out = dict(first)
    for oid, label, mask in objects:
        ob = first[oid]
        if ob is None:
            continue
        completed = ob.visible is not None and ob.visible.size[:2] != ob.box.size[:2]
        hidden = ob.bottom_hidden and not rules.stands_on_floor(label)
        if not (completed or hidden):
            continue
        # Second pass: a hidden bottom rests on the others' tops; completion stops at what the others show.
        supports = [SupportSurface(o, b.box.center[2] + b.box.size[2] / 2, b.box, cam_xy, labels[o])
                    for o, b in first.items() if o != oid and b is not None and b.box.size[2] > FLAT_M] if hidden else None
        obstacles = [b.visible for o, b in first.items() if o != oid and b is not None and b.visible is not None]
        out[oid] = measure(label, mask, supports, obstacles)
    return out
