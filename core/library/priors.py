"""Class size priors from a catalogue's ``bbx`` column: how big a "bed" or a "night stand" usually is.

Why: a photo shows only part of most objects (the frame cuts them, nearer furniture hides them,
depth sees only front faces). Perception measures what it sees and completes the hidden sides
from what the library says objects of that class measure. Priors are computed from *any*
catalogue (the user's library when the caller has one), per ``class_en`` and per
``retrieval_class_en``; the extension ships a table made from the published 2,000-asset
catalogue (``data/size_priors.json``, rebuilt with ``python -m core.library.priors CSV``).

Sizes are in the asset frame: ``(width x, depth y, height z)`` metres, front facing −Y. Each prior
keeps the median and the 20th/80th percentiles after dropping mis-scaled assets (a "desk" 12 m
wide): an asset more than 4× away from its class median on any axis does not vote (classes that
are legitimately varied, pot plants from 30 cm to 1.5 m, keep their spread).

Labels are looked up leniently (detectors say "night stand", catalogues "Bedside_table"): first
the library's own vocabulary when the priors were built with one, then the normalised label, its singular, the aliases in the data file, the starter vocabulary's classes, then the label's
last word ("wooden dining chair" → "chair"), then a class whose name ends with it ("bed" →
"double bed"). A word no catalogue class covers can still use the small table of typical
household furniture sizes in the data file (the prior's ``source`` says so); last, the library
vocabulary (:mod:`.vocabulary`: synonyms and text similarity) names the nearest class.
Stdlib + numpy only: this also runs in Blender's process.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import ImaginariumError

DATA_PATH = Path(__file__).resolve().parent / "data" / "size_priors.json"
OUTLIER_RATIO = 4.0


def normalise(word: str) -> str:
    """Lower case, underscores and punctuation to single spaces ("Bedside_table" → "bedside table")."""
    text = re.sub(r"[_\-/]+", " ", str(word or "").strip().lower())
    text = re.sub(r"[^\w\s]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def singular(word: str) -> str:
    for suffix, repl in (("ves", "f"), ("ies", "y"), ("ches", "ch"), ("shes", "sh"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2 and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


@dataclass(frozen=True)
class SizePrior:
    """Median and 20–80 % range of (width, depth, height) in metres for one class; ``source`` says where from."""

    key: str
    count: int
    median: tuple[float, float, float]
    low: tuple[float, float, float]
    high: tuple[float, float, float]
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "median": list(self.median), "low": list(self.low), "high": list(self.high)}


def _prior(key: str, sizes: list[tuple[float, float, float]], source: str) -> SizePrior | None:
    arr = np.asarray(sizes, float)
    if not len(arr):
        return None
    med = np.median(arr, axis=0)
    ratio = np.maximum(arr, 1e-3) / np.maximum(med, 1e-3)
    keep = np.all((ratio < OUTLIER_RATIO) & (ratio > 1 / OUTLIER_RATIO) | (med < 0.02), axis=1)
    if keep.sum() >= max(1, len(arr) // 2):
        arr = arr[keep]
    med = np.median(arr, axis=0)
    lo, hi = np.percentile(arr, [20, 80], axis=0)
    r = lambda v: tuple(round(float(x), 4) for x in v)  # noqa: E731
    return SizePrior(key, len(arr), r(med), r(lo), r(hi), source)


class SizePriors:
    """Priors by normalised class name; :meth:`lookup` resolves a detector label to one of them.

    A second, simpler prior exists on purpose for the VLM's size verdicts; why, and why merging the
    two is a measured change, is said at :func:`core.perception.verdicts.size_prior_from_records`.
    """

    def __init__(self, by_key: dict[str, SizePrior], source: str, aliases: dict[str, list[str]] | None = None,
                 typical: dict[str, SizePrior] | None = None, vocabulary: Any = None,
                 broad: "SizePriors | None" = None) -> None:
        self.by_key = by_key
        self.source = source
        self.vocabulary = vocabulary  # the library's own label → class resolution, tried first
        self.broad = broad  # a larger catalogue's priors for labels this library has no class for
        self.aliases = {normalise(k): [normalise(v) for v in vs] for k, vs in (aliases or {}).items()}
        self.typical = typical or {}
        self._vocab: Any = None

    # ---- building -------------------------------------------------------------------------------------------
    @classmethod
    def from_assets(cls, assets: Iterable[Any], source: str = "catalogue", vocabulary: Any = None,
                    broad: "SizePriors | None" = None) -> "SizePriors":
        """From AssetRecords (``class_name``, ``retrieval_class``, ``size``); flat assets count like any other.

        ``vocabulary`` (a :class:`core.library.vocabulary.Vocabulary` of the same library) resolves labels
        first, so "three-seat sofa" finds the library's own sofa class before any alias or typical size.
        ``broad`` (e.g. :func:`default_priors`) answers for labels this library has no class for. The
        library's own classes win even with few assets: what will be placed is one of its assets.
        """
        groups: dict[str, list[tuple[float, float, float]]] = {}
        names: dict[str, str] = {}
        for a in assets:
            size = tuple(float(s) for s in a.size)
            for raw in dict.fromkeys((a.class_name, a.retrieval_class)):
                key = normalise(raw)
                if key and (raw == a.class_name or key != normalise(a.class_name)):
                    groups.setdefault(key, []).append(size)  # type: ignore[arg-type]
                    names.setdefault(key, raw)
        by_key = {}
        for key, sizes in groups.items():
            p = _prior(key, sizes, f"{len(sizes)} '{names[key]}' asset(s) of {source}")
            if p is not None:
                by_key[key] = p
        shipped = _shipped()
        return cls(by_key, source, shipped.aliases, shipped.typical, vocabulary, broad)

    @classmethod
    def from_catalogue(cls, csv_or_library_dir: str | Path) -> "SizePriors":
        """Read a catalogue (the published CSV or a library folder) with the catalogue reader."""
        from .catalogue import load_catalogue

        cat = load_catalogue(csv_or_library_dir)
        return cls.from_assets(cat.assets.values(), source=f"catalogue {cat.csv_path.name}")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SizePriors":
        source = str(data.get("source", "size_priors.json"))
        by_key = {normalise(k): SizePrior(normalise(k), int(v["count"]), tuple(v["median"]), tuple(v["low"]),
                                          tuple(v["high"]), f"{v['count']} asset(s) of {source}")
                  for k, v in (data.get("classes") or {}).items()}
        typical = {normalise(k): SizePrior(normalise(k), 0, tuple(v), tuple(0.8 * x for x in v),
                                           tuple(1.2 * x for x in v), "typical household furniture size")
                   for k, v in (data.get("typical") or {}).items() if not k.startswith("_")}
        return cls(by_key, source, {k: v for k, v in (data.get("aliases") or {}).items() if not k.startswith("_")},
                   typical)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "classes": {k: p.to_json() for k, p in sorted(self.by_key.items())}}

    # ---- lookup ---------------------------------------------------------------------------------------------
    def candidates(self, label: str) -> list[str]:
        """Keys to try for a label, best first (see the module docstring)."""
        text = normalise(label)
        words = text.split()
        if not words:
            return []
        tries = [text, " ".join(words[:-1] + [singular(words[-1])])]
        tries += [a for t in list(tries) for a in self.aliases.get(t, [])]
        try:
            tries += [normalise(c) for c in _starter_vocabulary()(text)]
        except (ImaginariumError, OSError, ValueError):  # the starter vocabulary is optional help here, never a failure
            pass
        for n in range(len(words) - 1, 0, -1):  # drop leading words: "dresser mirror" → "mirror"
            tail = " ".join(words[-n:-1] + [singular(words[-1])])
            tries += [tail] + self.aliases.get(tail, [])
        return list(dict.fromkeys(t for t in tries if t))

    def lookup(self, label: str | None) -> SizePrior | None:
        """The prior for a detector label, or None; a catalogue class beats the typical-size table.

        Order: this library's classes (its vocabulary first), then the broad catalogue when one was
        given, then the typical sizes, then text similarity to this library's class names.
        """
        if not label:
            return None
        keys = self.candidates(label)
        found = self._own_class(label, keys)
        if found is None and self.broad is not None:
            found = self.broad.lookup(label)
        if found is None:
            found = next((self.typical[key] for key in keys if key in self.typical), None)
        if found is None:
            match = self._vocabulary_match(label)
            found = self.by_key.get(match) if match else None
        return found

    def _own_class(self, label: str, keys: list[str]) -> SizePrior | None:
        if self.vocabulary is not None:
            found = self._library_match(label)
            if found is not None:
                return found
        for key in keys:
            if key in self.by_key:
                return self.by_key[key]
        for key in keys:  # a class whose name ends with the word: "bed" → "double bed" (the most assets)
            found = [p for k, p in self.by_key.items() if k.endswith(" " + key)]
            if found:
                return max(found, key=lambda p: p.count)
        return None

    def _library_match(self, label: str) -> SizePrior | None:
        """The library vocabulary's class for the label (its specific class, else its retrieval class)."""
        try:
            match = self.vocabulary.lookup(label)
        except Exception:  # noqa: BLE001 - a vocabulary problem must not stop box measurement
            return None
        if match is None:
            return None
        names = [match.class_name, match.retrieval_class] if match.specific else [match.retrieval_class]
        return next((self.by_key[normalise(n)] for n in names if normalise(n) in self.by_key), None)

    def _vocabulary_match(self, label: str) -> str | None:
        """Last resort: the library vocabulary's own resolution of the label (synonyms, text similarity)."""
        if self._vocab is None:
            try:
                from .vocabulary import Vocabulary

                self._vocab = Vocabulary([(k, k) for k in self.by_key], source=self.source)
            except Exception:  # noqa: BLE001 - optional help: no vocabulary means no last-resort match
                self._vocab = False
        if not self._vocab:
            return None
        try:
            found = self._vocab.lookup(label)
        except Exception:  # noqa: BLE001
            return None
        return normalise(found.class_name) if found is not None else None


@lru_cache(maxsize=1)
def _starter_vocabulary() -> Any:
    from .vocabulary import Vocabulary

    return Vocabulary.starter()


@lru_cache(maxsize=1)
def _shipped() -> SizePriors:
    try:
        data = json.loads(DATA_PATH.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return SizePriors({}, "none")
    return SizePriors.from_json(data)


def default_priors() -> SizePriors:
    """The shipped priors (from the published catalogue) with their aliases and typical sizes."""
    return _shipped()


def _compact_json(data: dict[str, Any]) -> str:
    """One line per class or alias, so the shipped file stays small and diffs stay readable."""
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        end = "," if i < len(items) - 1 else ""
        if isinstance(value, dict) and value:
            inner = [f"  {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}" for k, v in value.items()]
            lines.append(f" {json.dumps(key)}: {{\n" + ",\n".join(inner) + f"\n }}{end}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{end}")
    return "\n".join(lines) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    """Rebuild the shipped table: ``python -m core.library.priors CSV [--out data/size_priors.json]``."""
    import argparse

    p = argparse.ArgumentParser(description="Class size priors from a catalogue's bbx column.")
    p.add_argument("catalogue")
    p.add_argument("--out", default=None, help="merge into this JSON (keeps its aliases and typical sizes)")
    args = p.parse_args(argv)
    priors = SizePriors.from_catalogue(args.catalogue)
    data = priors.to_json()
    if args.out:
        out = Path(args.out)
        old = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
        merged = {k: v for k, v in old.items() if k not in ("source", "classes")}
        merged.update(data)
        out.write_text(_compact_json(merged), encoding="utf-8")
    else:
        print(json.dumps(data, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
