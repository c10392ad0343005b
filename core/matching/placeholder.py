"""Placeholders: an object whose label maps to no asset of the library is still placed, as a labelled box.

Why: dropping it with a line in a log loses what perception saw; a box of the observed size,
named after its label, keeps the room's layout honest and shows the artist what to fill in.

The representation, shared by matching, layout and the scene builder (``imaginarium_addon/openings.py``
reads the same form):

* **asset id** ``placeholder:<label>`` (:func:`placeholder_id`, :func:`is_placeholder`,
  :func:`placeholder_label`) — never a catalogue id; objects with one label share it;
* in ``candidates.json`` the object's :class:`~core.schema.Candidate` has exactly one
  :class:`~core.schema.RankedAsset` with that id, ``score`` 0 and ``parts``
  ``{"placeholder": 1.0, "label": <label>, "size": [x, y, z] (metres, the observed box), "note": <why>}``;
  the same note is in ``CandidateSet.notes``;
* the layout stage turns it into an :class:`~core.schema.AssetRecord` with :func:`placeholder_records`
  (``path`` None, ``retrieval_class`` ``"placeholder"``, ``class_name`` the label, ``size`` the observed
  size, scaling ALIGNED_ANISOTROPIC, caption = the note) so the solver treats it like any asset with a
  box proxy, and puts the note on the Placement;
* the scene builder builds a box of the placement's observed size (``Placement.box``) in the asset
  frame (origin at the bottom centre, front −Y), named and labelled after the label.
"""
from __future__ import annotations

from typing import Any, Iterable

from ..schema import AssetRecord, Candidate, CandidateSet, RankedAsset

PREFIX = "placeholder:"
DEFAULT_SIZE_M = (0.5, 0.5, 0.5)  # as the scene builder (imaginarium_addon/openings.py)
MIN_SIDE_M = 0.01


def placeholder_id(label: str) -> str:
    return PREFIX + (" ".join(str(label).split()) or "object")


def is_placeholder(asset_id: str | None) -> bool:
    return bool(asset_id) and str(asset_id).startswith(PREFIX)


def placeholder_label(asset_id: str) -> str:
    return str(asset_id)[len(PREFIX):].strip() or "object"


def _size(box: Any) -> tuple[tuple[float, float, float], bool]:
    """The observed box size (each side at least 1 cm), or the default cube when there is no box."""
    if box is None:
        return DEFAULT_SIZE_M, False
    return tuple(max(float(s), MIN_SIDE_M) for s in box.size), True  # type: ignore[return-value]


def placeholder_candidate(obj: Any, reason: str, poses: Iterable[Any] = ()) -> tuple[Candidate, str]:
    """The Candidate of a labelled box for ``obj`` (a SceneObject), and the note that says why."""
    size, observed = _size(getattr(obj, "box", None))
    shown = "×".join(f"{s:.2f}" for s in size)
    note = (f"{obj.id} ({obj.label}): {reason}; placed as a labelled box {shown} m"
            + ("" if observed else " (no 3D box was measured: a 0.5 m cube stands in)")
            + ". Swap it for an asset in Blender, or add the label to core/library/data/synonyms.json.")
    ranked = RankedAsset(placeholder_id(obj.label), 0.0, {"placeholder": 1.0, "label": obj.label, "size": list(size),
                                                       "note": note})
    return Candidate(obj.id, [ranked], list(poses)), note


def placeholder_record(ranked: RankedAsset) -> AssetRecord:
    """The AssetRecord the solver and the scene builder use for a placeholder RankedAsset."""
    parts = ranked.parts or {}
    size = tuple(max(float(s), MIN_SIDE_M) for s in parts.get("size", DEFAULT_SIZE_M))
    label = str(parts.get("label") or placeholder_label(ranked.asset_id))
    return AssetRecord(id=ranked.asset_id, name=f"placeholder {label}", class_name=label,
                       retrieval_class="placeholder", size=size, scaling_strategy="ALIGNED_ANISOTROPIC",
                       caption=str(parts.get("note", "")), path=None)


def placeholder_records(candidates: CandidateSet) -> dict[str, AssetRecord]:
    """asset id → AssetRecord for every placeholder in a CandidateSet (merge into the catalogue's assets).

    Objects sharing a label share the record (the first one's size); each is still scaled to its own box.
    """
    out: dict[str, AssetRecord] = {}
    for c in candidates.candidates:
        for r in c.assets:
            if is_placeholder(r.asset_id) and r.asset_id not in out:
                out[r.asset_id] = placeholder_record(r)
    return out
