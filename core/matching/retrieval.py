"""Rank library assets for observed objects.

Score of an asset for one object = w_global·global + w_local·local + w_size·size + w_class·class
(terms in scoring.py). Which assets are candidates comes from the library's vocabulary
(:class:`core.library.vocabulary.Vocabulary`): the label's retrieval class and its alternatives;
the class term is 1 for assets of the class the label names, ½ for an alternative class. A
label that maps to nothing raises :class:`NoCandidatesError`; the match stage then gives the
object a placeholder (a labelled box of its observed size, see :mod:`.placeholder`).

Global similarity and size are computed for every candidate asset of the object's retrieval
classes in one vectorised pass; the costly patch matching only for the best ``rerank_assets`` of
them. Objects of one group (identical instances) share one ranking: the mean of their members'
scores, so every member gets the same asset.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..config import RetrievalSettings
from ..errors import LibraryError
from ..schema import AssetRecord, RankedAsset
from .index import TemplateIndex
from .scoring import STRATEGY_CODES, mutual_matches, per_asset_max, size_agreement


class NoCandidatesError(LibraryError):
    """An object's label leads to no asset of the library."""

    default_fix = ("Add the label (or an everyday name for it) to core/library/data/synonyms.json, add assets of "
                   "its class to the library (then re-embed), or swap the placeholder box for an asset in Blender.")


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


def _class_weights(classes_for: Any, label: str) -> dict[str, float]:
    """Class name → class term for ``label``: from the vocabulary's match when there is one (specific class 1,
    alternatives ½), else the label's own words (old callables: exact class or retrieval-class name)."""
    lookup = getattr(classes_for, "lookup", None)
    match = lookup(label) if lookup is not None else None
    if match is None:
        return {normalise_label(label): 1.0}
    weights = {normalise_label(c): 0.5 for c, _, _ in match.alternatives}
    if match.specific:
        weights[normalise_label(match.class_name)] = 1.0
    return weights


class Retriever:
    """Scores and ranks assets of one TemplateIndex for queries, using catalogue records and the vocabulary.

    ``classes_for`` is the library's :class:`~core.library.vocabulary.Vocabulary` (callable: label →
    retrieval classes) or any such callable; ``None`` builds the vocabulary from ``assets``.
    """

    def __init__(self, index: TemplateIndex, assets: dict[str, AssetRecord],
                 classes_for: Callable[[str], Sequence[str]] | None, settings: RetrievalSettings) -> None:
        if classes_for is None:
            from ..library.vocabulary import Vocabulary

            classes_for = Vocabulary.from_records(assets.values())
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
            raise NoCandidatesError(f"The label {label!r} maps to no class of the library's vocabulary.", label=label)
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
        weights = _class_weights(self.classes_for, q.label)
        label = normalise_label(q.label)
        c = np.array([0.0 if self.records[a] is None else max(
            weights.get(normalise_label(self.records[a].class_name), 0.0),
            1.0 if label == normalise_label(self.records[a].retrieval_class) else 0.0) for a in assets],
            dtype=np.float32)
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
