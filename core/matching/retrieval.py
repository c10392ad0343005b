"""Rank library assets for observed objects.

Score of an asset for one object = w_global·global + w_local·local + w_size·size + w_class·class
(terms in scoring.py). Global similarity and size are computed for every candidate asset of
the object's retrieval classes in one vectorised pass; the costly patch matching only for the
best ``rerank_assets`` of them. Objects of one group (identical instances) share one ranking:
the mean of their members' scores, so every member gets the same asset.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from ..config import RetrievalSettings
from ..errors import LibraryError
from ..schema import AssetRecord, RankedAsset
from .index import TemplateIndex
from .scoring import STRATEGY_CODES, mutual_matches, per_asset_max, size_agreement


class NoCandidatesError(LibraryError):
    """An object's label leads to no asset of the library."""

    default_fix = ("Add the label to core/library/data/category_map.json, add assets of its class to the "
                   "library (then re-embed), or remove the object from the scene graph.")


@dataclass
class Query:
    """One observed object as retrieval sees it: label, features, optional box size and group."""

    object_id: str
    label: str
    glob: np.ndarray
    patch: np.ndarray
    box_size: np.ndarray | None = None
    group: str | None = None


@dataclass
class ScoreTable:
    """Score terms over a set of candidate assets (indices into the TemplateIndex's asset_ids)."""

    assets: np.ndarray
    parts: dict[str, np.ndarray] = field(default_factory=dict)

    def total(self, weights: dict[str, float]) -> np.ndarray:
        out = np.zeros(len(self.assets), dtype=np.float64)
        for name, w in weights.items():
            out += w * self.parts[name]
        return out


def _top_per_group(values: np.ndarray, group: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values within each group (groups are contiguous runs)."""
    order = np.lexsort((-values, group))
    g = group[order]
    first = np.concatenate([[0], np.nonzero(np.diff(g))[0] + 1])
    rank = np.arange(len(g)) - np.repeat(first, np.diff(np.concatenate([first, [len(g)]])))
    return np.sort(order[rank < k])


def normalise_label(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


class Retriever:
    """Scores and ranks assets of one TemplateIndex for queries, using catalogue records and the category map."""

    def __init__(self, index: TemplateIndex, assets: dict[str, AssetRecord],
                 classes_for: Callable[[str], Sequence[str]], settings: RetrievalSettings) -> None:
        self.index = index
        self.settings = settings
        self.classes_for = classes_for
        n = len(index.asset_ids)
        self.records: list[AssetRecord | None] = [assets.get(a) for a in index.asset_ids]
        self.sizes = np.array([r.size if r else (1.0, 1.0, 1.0) for r in self.records], dtype=np.float64).reshape(n, 3)
        self.codes = np.array([STRATEGY_CODES[r.scaling_strategy] if r else 0 for r in self.records], dtype=np.int64)
        self.has_rows = index.row_count > 0
        self.by_class: dict[str, np.ndarray] = {}
        for i, r in enumerate(self.records):
            if r is not None and self.has_rows[i]:
                self.by_class.setdefault(normalise_label(r.retrieval_class), []).append(i)  # type: ignore[arg-type]
        self.by_class = {k: np.asarray(v, dtype=np.int64) for k, v in self.by_class.items()}
        self.weights = {"global": settings.weight_global, "local": settings.weight_local,
                        "size": settings.weight_size, "class": settings.weight_class}

    def candidates_for(self, label: str) -> np.ndarray:
        """Asset indices whose retrieval class the label maps to (NoCandidatesError when none)."""
        try:
            classes = list(self.classes_for(label) or [])
        except (KeyError, LookupError, ValueError, LibraryError):
            classes = []
        if not classes:
            raise NoCandidatesError(f"The label {label!r} maps to no retrieval class of the library's category map.",
                                    label=label)
        found = [self.by_class[normalise_label(c)] for c in classes if normalise_label(c) in self.by_class]
        if not found:
            raise NoCandidatesError(f"The label {label!r} maps to {', '.join(classes)}, but the library has no "
                                    "embedded asset of those classes.", label=label, classes=classes)
        return np.unique(np.concatenate(found))

    def _cheap_parts(self, q: Query, assets: np.ndarray) -> ScoreTable:
        """Global similarity (best view), size agreement and the exact-class bonus for ``assets``."""
        rows = self.index.rows_of(assets)
        local_group = np.repeat(np.arange(len(assets)), self.index.row_count[assets])
        g = per_asset_max(self.index.global_sims(q.glob, rows), local_group, len(assets))
        if q.box_size is not None and np.all(np.isfinite(q.box_size)) and float(np.max(q.box_size)) > 0:
            s = size_agreement(q.box_size, self.sizes[assets], self.codes[assets])
        else:
            s = np.full(len(assets), 0.5, dtype=np.float32)  # unknown size: neutral
        label = normalise_label(q.label)
        c = np.array([1.0 if self.records[a] is not None and label in
                      (normalise_label(self.records[a].class_name), normalise_label(self.records[a].retrieval_class))
                      else 0.0 for a in assets], dtype=np.float32)
        return ScoreTable(assets, {"global": g, "size": s, "class": c, "local": np.zeros(len(assets), np.float32)})

    def _local(self, q: Query, table: ScoreTable, chosen: np.ndarray) -> None:
        """Fill the local term for positions ``chosen`` of ``table``: best of each asset's top views.

        Only the ``rerank_views`` views of an asset most similar globally are compared patch
        by patch — with many views per asset the others cannot be the best match anyway.
        """
        assets = table.assets[chosen]
        rows = self.index.rows_of(assets)
        if len(rows) == 0:
            return
        group = np.repeat(np.arange(len(assets)), self.index.row_count[assets])
        g = self.index.global_sims(q.glob, rows)
        keep = _top_per_group(g, group, max(1, int(self.settings.rerank_views)))
        rows, group = rows[keep], group[keep]
        scores = mutual_matches(q.patch, self.index.patches(rows)).score
        table.parts["local"][chosen] = np.maximum(per_asset_max(scores, group, len(assets)), 0.0)

    def rank_group(self, queries: Sequence[Query]) -> list[list[RankedAsset]]:
        """Rank for one object, or for the members of one group together (same list order for all)."""
        cands = np.unique(np.concatenate([self.candidates_for(q.label) for q in queries]))
        tables = [self._cheap_parts(q, cands) for q in queries]
        cheap_w = {k: v for k, v in self.weights.items() if k != "local"}
        pre = np.mean([t.total(cheap_w) for t in tables], axis=0)
        m = max(1, min(int(self.settings.rerank_assets), len(cands)))
        chosen = np.argsort(-pre, kind="stable")[:m]
        for q, t in zip(queries, tables):
            self._local(q, t, chosen)
        totals = np.stack([t.total(self.weights) for t in tables])
        combined = totals.mean(axis=0)
        top = np.argsort(-combined, kind="stable")[:max(1, int(self.settings.top_k))]
        out = []
        for qi, (q, t) in enumerate(zip(queries, tables)):
            ranked = []
            for j in top:
                parts = {k: round(float(v[j]), 5) for k, v in t.parts.items()}
                parts["own"] = round(float(totals[qi, j]), 5)
                if q.group:
                    parts["group_size"] = len(queries)
                ranked.append(RankedAsset(self.index.asset_ids[int(t.assets[j])], round(float(combined[j]), 5), parts))
            out.append(ranked)
        return out

    def rank(self, queries: Iterable[Query], on_error: Callable[[Query, NoCandidatesError], None] | None = None,
             step: Callable[[int, int], None] | None = None) -> dict[str, list[RankedAsset]]:
        """Rankings for all queries; members of a group are ranked together.

        A query whose label has no candidates raises NoCandidatesError, unless ``on_error`` is
        given: then it is reported there and gets an empty ranking.
        """
        groups: dict[str, list[Query]] = {}
        units: list[list[Query]] = []
        for q in queries:
            if q.group:
                if q.group not in groups:
                    groups[q.group] = []
                    units.append(groups[q.group])
                groups[q.group].append(q)
            else:
                units.append([q])
        result: dict[str, list[RankedAsset]] = {}
        for i, unit in enumerate(units):
            try:
                for q, ranked in zip(unit, self.rank_group(unit)):
                    result[q.object_id] = ranked
            except NoCandidatesError as exc:
                if on_error is None:
                    raise
                for q in unit:
                    on_error(q, exc)
                    result[q.object_id] = []
            if step:
                step(i + 1, len(units))
        return result
