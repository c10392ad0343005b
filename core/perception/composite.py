"""Composite assets absorb the parts they already contain, so nothing is placed twice.

Why: a catalogue row with ``portfolio_assets = 1`` is a composite — a desk modelled with its
monitor and chair, a bed with its pillows. When such an asset is chosen for an object, a detected
monitor on that desk would otherwise be placed a second time inside it. Rule:

* the object's chosen (top-ranked) asset is composite;
* the other object's class is one such an asset contains: the parts listed for its kind in
  ``core/library/data/composites.json`` (keyed by the class's head word: ``Double_bed`` → bed), plus
  the things its caption names ("… with books and desk organizer");
* the other object's box lies mostly inside the composite's: at least :data:`INSIDE_MIN` of its
  footprint over the composite's footprint, and its height within the composite asset's height
  (scaled to the observed footprint) — the observed desk box stops at the desk top, the asset
  does not. Without 3D boxes the pixel boxes decide (:data:`INSIDE_MIN_2D`).

The absorbed object gets ``removed`` and a note; the composite gets a note naming it. Both are
undone by restoring the object from the Selected Object panel (a restored object is never absorbed
again). Works on the Observation after matching (it needs the chosen assets).
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from ..library.text_match import content_words, key, words
from ..schema import AssetRecord, Box3D, CandidateSet, Observation, SceneObject
from .verdicts import is_restored

PARTS_PATH = Path(__file__).resolve().parent.parent / "library" / "data" / "composites.json"
INSIDE_MIN = 0.6
INSIDE_MIN_2D = 0.8
MARGIN_M = 0.05
PART_MIN_SCORE = 0.8  # a part name must map firmly (no guess by text similarity)


@lru_cache(maxsize=2)
def _parts_table(path: str | None = None) -> dict[str, tuple[str, ...]]:
    data = json.loads(Path(path or PARTS_PATH).read_text(encoding="utf-8"))
    return {key(k): tuple(v) for k, v in data["parts"].items()}


def part_names(asset: AssetRecord) -> list[str]:
    """Everyday names of what a composite asset of this kind contains: its kind's list, then its caption's nouns."""
    table = _parts_table()
    names: list[str] = []
    for ws in (content_words(words(asset.class_name)), content_words(words(asset.retrieval_class))):
        for w in reversed(ws):  # head word first ("Double_bed" → bed)
            if w in table:
                names += [n for n in table[w] if n not in names]
                break
    known = {key(n) for values in table.values() for n in values}  # things that are parts of something
    caption = asset.caption or ""
    if " with " in f" {caption.lower()} ":
        tail = re.split(r"\bwith\b", caption, maxsplit=1, flags=re.I)[1]
        for chunk in re.split(r",|\band\b|\bplus\b", tail):
            ws = words(chunk)
            noun = next((" ".join(ws[-n:]) for n in (2, 1) if len(ws) >= n and " ".join(ws[-n:]) in known), None)
            if noun and noun not in names:
                names.append(noun)
    return names


def part_classes(asset: AssetRecord, vocabulary: Any) -> set[str]:
    """Class names (of the vocabulary's catalogue) a composite asset contains."""
    out: set[str] = set()
    for name in part_names(asset):
        match = vocabulary.lookup(name)
        if match is None or match.score < PART_MIN_SCORE:
            continue
        if match.class_name != asset.class_name:
            out.update(c for c in match.classes() if c != asset.class_name)
    return out


def _footprint_scale(box: Box3D, asset: AssetRecord) -> float:
    obs = sorted(box.size[:2], reverse=True)
    ref = sorted(asset.size[:2], reverse=True)
    ratios = [o / r for o, r in zip(obs, ref) if r > 0.02 and o > 0.02]
    return float(min(2.0, max(0.5, np.mean(ratios)))) if ratios else 1.0


def inside_fraction(part: Box3D, comp: Box3D, comp_height: float) -> float:
    """Share of ``part``'s footprint over ``comp``'s (in comp's frame, 5 cm margin); 0 when heights disagree."""
    bottom = comp.center[2] - comp.size[2] / 2
    p_bottom = part.center[2] - part.size[2] / 2
    if p_bottom < bottom - MARGIN_M or part.center[2] > bottom + comp_height + MARGIN_M:
        return 0.0
    u = np.linspace(-0.5, 0.5, 7)
    gx, gy = np.meshgrid(u * max(part.size[0], 1e-3), u * max(part.size[1], 1e-3))
    c, s = math.cos(part.yaw), math.sin(part.yaw)
    wx = part.center[0] + c * gx - s * gy
    wy = part.center[1] + s * gx + c * gy
    c2, s2 = math.cos(comp.yaw), math.sin(comp.yaw)
    dx, dy = wx - comp.center[0], wy - comp.center[1]
    lx, ly = c2 * dx + s2 * dy, -s2 * dx + c2 * dy
    inside = (np.abs(lx) <= comp.size[0] / 2 + MARGIN_M) & (np.abs(ly) <= comp.size[1] / 2 + MARGIN_M)
    return float(inside.mean())


def inside_fraction_2d(part: Any, comp: Any) -> float:
    """Share of ``part``'s pixel box [x0, y0, x1, y1] inside ``comp``'s."""
    ix = max(0.0, min(part[2], comp[2]) - max(part[0], comp[0]))
    iy = max(0.0, min(part[3], comp[3]) - max(part[1], comp[1]))
    area = max((part[2] - part[0]) * (part[3] - part[1]), 1e-9)
    return ix * iy / area


def absorb_into_composites(objects: list[SceneObject], chosen: Mapping[str, AssetRecord],
                           is_composite: Callable[[str], bool], vocabulary: Any) -> list[str]:
    """Mark objects contained in a composite object's asset as removed (see the module docstring); returns notes."""
    live = [o for o in objects if not o.removed]
    composites = [(o, chosen[o.id]) for o in live if o.id in chosen and is_composite(chosen[o.id].id)]
    notes: list[str] = []
    for comp, asset in composites:
        parts = part_classes(asset, vocabulary)
        if not parts:
            continue
        height = asset.size[2] * (_footprint_scale(comp.box, asset) if comp.box is not None else 1.0)
        for obj in live:
            if obj is comp or obj.removed or is_restored(obj) or obj.id in {c.id for c, _ in composites}:
                continue
            match = vocabulary.lookup(obj.label)
            if match is None or match.class_name not in parts:
                continue
            if obj.box is not None and comp.box is not None:
                frac, need = inside_fraction(obj.box, comp.box, max(height, comp.box.size[2])), INSIDE_MIN
            elif obj.detection is not None and comp.detection is not None:
                frac, need = inside_fraction_2d(obj.detection.box, comp.detection.box), INSIDE_MIN_2D
            else:
                continue
            if frac < need:
                continue
            obj.removed = f"absorbed by {comp.id}: its composite asset {asset.name} already contains a {match.class_name}"
            obj.notes.append(f"removed: {obj.removed} ({frac:.0%} of it lies inside); restore it to place it anyway")
            comp.notes.append(f"composite asset {asset.name} absorbs {obj.id} ({obj.label}), which it already contains")
            notes.append(f"{obj.id} absorbed by composite {comp.id} ({asset.name})")
    return notes


def apply_composites(observation: Observation, candidates: CandidateSet, catalogue: Any, vocabulary: Any) -> list[str]:
    """:func:`absorb_into_composites` with each object's top candidate from ``candidates`` and the catalogue's
    ``portfolio_assets`` flags; changes ``observation`` in place (the caller saves it)."""
    assets = getattr(catalogue, "assets", catalogue)
    chosen = {}
    for c in candidates.candidates:
        top = next((r.asset_id for r in c.assets if r.asset_id in assets), None)
        if top is not None:
            chosen[c.object_id] = assets[top]
    is_composite = getattr(catalogue, "is_composite", lambda _id: False)
    notes = absorb_into_composites(observation.graph.objects, chosen, is_composite, vocabulary)
    observation.notes.extend(notes)
    return notes
