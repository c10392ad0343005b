"""Compatibility shim: the old label → retrieval-class functions, answered by :mod:`.vocabulary`.

The fixed label table this module used to read (``category_map.json``) is gone: labels are now
mapped to whatever catalogue is loaded (:class:`~.vocabulary.Vocabulary`). Kept only for callers
that still import these names (``core.matching.store_access``); new code uses the vocabulary.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from .text_match import key as normalise_label  # noqa: F401  (old name, same meaning)
from .vocabulary import Vocabulary

__all__ = ["retrieval_classes_for", "library_labels", "normalise_label"]


@lru_cache(maxsize=8)
def _vocabulary(available: tuple[str, ...] | None) -> Vocabulary:
    return Vocabulary.starter() if available is None else Vocabulary.from_names(available)


def retrieval_classes_for(label: str, available: Iterable[str] | None = None) -> list[str]:
    """Retrieval classes ``label`` may mean, best first: of ``available`` when given, else of the starter library."""
    return _vocabulary(None if available is None else tuple(sorted(set(available))))(label)


def library_labels(catalogue: Any) -> list[str]:
    """The library's retrieval classes, sorted (the VLM's allowed categories)."""
    return sorted({a.retrieval_class for a in catalogue.assets.values()})
