"""Detector labels and synonyms → retrieval classes, backed by ``data/category_map.json``.

Why a data file: detectors and the VLM name things freely ("couch", "bedside table",
"pillows"); the catalogue groups assets by ``retrieval_class_en``. Keeping the mapping as
data lets a user with their own library extend it without touching code. Stdlib only.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..errors import LibraryError

MAP_PATH = Path(__file__).resolve().parent / "data" / "category_map.json"


def normalise_label(label: str) -> str:
    """Lower case, single spaces, no punctuation or underscores; a trailing plural 's' is kept for lookup fallback."""
    text = re.sub(r"[_\-/]+", " ", str(label or "").strip().lower())
    text = re.sub(r"[^\w\s]", "", text)
    return re.sub(r"\s+", " ", text).strip()


@lru_cache(maxsize=4)
def load_map(path: str | None = None) -> dict[str, tuple[str, ...]]:
    """The synonym table; LibraryError with the fix when the data file is damaged."""
    source = Path(path) if path else MAP_PATH
    try:
        data: Any = json.loads(source.read_text(encoding="utf-8"))
        table = data["synonyms"]
        return {normalise_label(k): tuple(str(c) for c in v) for k, v in table.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LibraryError(f"Category map {source} is unreadable ({exc}).",
                           "Restore core/library/data/category_map.json from the extension, or fix its JSON.") from None


def _singular(word: str) -> str:
    for suffix, repl in (("ves", "f"), ("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + repl
    return word


def retrieval_classes_for(label: str, available: Iterable[str] | None = None) -> list[str]:
    """Retrieval classes a detector label can mean, best guess first.

    Tries the label, its singular form, then its last word ("wooden dining chair" →
    "chair"). A label that names a retrieval class directly maps to itself. With
    ``available`` (e.g. ``catalogue.retrieval_classes()``) only classes the library has are
    returned. An unknown label gives an empty list, never an error.
    """
    table = load_map()
    text = normalise_label(label)
    words = text.split()
    tries = [text, " ".join(words[:-1] + [_singular(words[-1])]) if words else ""]
    for n in range(len(words) - 1, 0, -1):  # drop leading adjectives
        tail = words[-n:]
        tries += [" ".join(tail), " ".join(tail[:-1] + [_singular(tail[-1])])]
    avail = None if available is None else {normalise_label(a): a for a in available}
    for key in tries:
        if not key:
            continue
        found = list(table.get(key, ()))
        if avail is not None:
            if key in avail and avail[key] not in found:
                found.insert(0, avail[key])
            found = [avail[normalise_label(c)] for c in found if normalise_label(c) in avail]
        elif not found and key in {normalise_label(c) for v in table.values() for c in v}:
            found = [next(c for v in table.values() for c in v if normalise_label(c) == key)]
        if found:
            return list(dict.fromkeys(found))
    return []


def library_labels(catalogue: Any) -> list[str]:
    """The prompt vocabulary for detectors and the VLM: the library's retrieval classes, sorted."""
    return sorted({a.retrieval_class for a in catalogue.assets.values()})
