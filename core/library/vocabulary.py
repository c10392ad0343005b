"""Label → catalogue class, for any catalogue: the library's own names are the vocabulary.

Why: detectors, the VLM and people name things freely ("couch", "night stand", "tv",
"wastebasket"); a catalogue groups its assets by ``class_en`` (fine: ``Multi_person_sofa``) and
``retrieval_class_en`` (coarse: ``Stool_chair_or_sofa``). A fixed label table only knows the
libraries it was written for; this maps a label to whatever catalogue is loaded, and says how
sure it is. The starter library is one such catalogue (``data/starter_vocabulary.json``), not a
special case.

How a label is resolved (first rule that finds something wins; words are compared in singular,
lower-case form, see :mod:`.text_match`):

1. **exact**: the label is a class or retrieval-class name (also without spaces, "nightstand" =
   "night stand", or a Chinese class name) — score 1.0;
2. **synonym**: ``data/synonyms.json`` lists everyday names → names catalogues use, best first
   ("couch" → "multi person sofa", "sofa"); each is resolved by rules 1 and 3 — score 0.95 × that;
3. **more specific name**: a class whose words contain all the label's words and end in the same
   head word ("lamp" → ``Floor_lamp``; the most common such class wins) — score 0.82–0.95;
4. rules 1–3 again on shorter endings of the label ("wooden dining chair" → "dining chair"), × 0.9;
5. **text similarity** with every class name and synonym: a sentence-embedding / CLIP text model
   when one is installed, else character trigrams + word overlap; kept above a threshold, × 0.8.

A label that matches nothing gives ``None``: the caller still places the object, as a labelled
box (see :mod:`core.matching.placeholder`). Stdlib only: this runs in Blender's process too.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import LibraryError
from .text_match import NgramSimilarity, TextSimilarity, content_words, key, readable, squash, words

DATA = Path(__file__).resolve().parent / "data"
SYNONYMS_PATH = DATA / "synonyms.json"
STARTER_PATH = DATA / "starter_vocabulary.json"
SYNONYM_FACTOR = 0.95
TAIL_FACTOR = 0.9
SIMILAR_FACTOR = 0.8
SIMILAR_MIN = {"char-trigram+word-overlap": 0.45}  # weight-free scores below this are noise (see bench_vocabulary)
SIMILAR_MIN_DEFAULT = 0.6
DEFAULT_PROMPT_TOKENS = 240  # Grounding DINO reads 256 text tokens per prompt; leave room for separators


@dataclass(frozen=True)
class Entry:
    """One name the catalogue uses: a class (``kind="class"``) or a retrieval class (``kind="retrieval"``)."""

    name: str
    kind: str
    class_name: str
    retrieval_class: str
    count: int
    key: str
    squashed: str
    content: frozenset
    heads: frozenset
    aliases: tuple = ()


@dataclass
class LabelMatch:
    """Where a label lands: the class, its retrieval class, a score in (0, 1] and how it was found.

    ``specific`` is False when the label named only a retrieval class (``class_name`` is then that
    retrieval class's most common class, a representative). ``alternatives`` are further
    (class, retrieval class, score) the label may mean ("table" → dining, coffee, side table…).
    """

    label: str
    class_name: str
    retrieval_class: str
    score: float
    via: str
    specific: bool = True
    alternatives: list = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's form: ``{"class", "retrieval_class", "score"}``."""
        return {"class": self.class_name, "retrieval_class": self.retrieval_class, "score": round(self.score, 3)}

    def retrieval_classes(self) -> list[str]:
        """This match's retrieval class, then the alternatives' (each once)."""
        return list(dict.fromkeys([self.retrieval_class] + [alt[1] for alt in self.alternatives]))

    def classes(self) -> list[str]:
        return list(dict.fromkeys([self.class_name] + [alt[0] for alt in self.alternatives]))


@lru_cache(maxsize=4)
def load_synonyms(path: str | None = None) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """(label key → target names, words that keep a class out of the default detector prompt)."""
    source = Path(path) if path else SYNONYMS_PATH
    try:
        data: Any = json.loads(source.read_text(encoding="utf-8"))
        table = {key(k): tuple(str(t) for t in v) for k, v in data["synonyms"].items()}
        exclude = tuple(key(w) for w in data.get("not_for_indoor_prompt", {}).get("words", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LibraryError(f"The synonym table {source} is unreadable ({exc}).",
                           "Restore core/library/data/synonyms.json from the extension, or fix its JSON.") from None
    return table, exclude


def _entry(name: str, kind: str, class_name: str, retrieval: str, count: int, aliases: Iterable[str]) -> Entry:
    ws = words(name)
    content = content_words(ws) or ws
    alternatives = [a.split() for a in " ".join(content).split(" or ")] if "or" in ws else [list(content)]
    content = tuple(w for w in content if w != "or")
    heads = frozenset(content) if len(alternatives) > 1 else frozenset(content[-1:])
    return Entry(name, kind, class_name, retrieval, count, " ".join(ws), squash(name), frozenset(content), heads,
                 tuple(sorted({a.strip().lower() for a in aliases if a and a.strip()})))


class Vocabulary:
    """A catalogue's class names plus the synonym table; :meth:`lookup` maps any label.

    Build it with :meth:`from_catalogue`, :meth:`from_records`, :meth:`from_csv`, :meth:`from_names`
    (retrieval-class names only) or :meth:`starter`. ``similarity`` is the fallback text similarity
    (default: the weight-free :class:`~.text_match.NgramSimilarity`).
    """

    def __init__(self, rows: Iterable[Sequence[Any]], *, similarity: TextSimilarity | None = None,
                 synonyms_path: str | None = None, source: str = "") -> None:
        counts: dict[tuple[str, str], int] = {}
        cn: dict[str, set[str]] = {}
        for row in rows:
            cls, ret = str(row[0]).strip(), str(row[1] or row[0]).strip()
            if not cls:
                continue
            counts[(cls, ret)] = counts.get((cls, ret), 0) + (int(row[4]) if len(row) > 4 else 1)
            if len(row) > 3:
                cn.setdefault(cls, set()).add(str(row[2] or ""))
                cn.setdefault("\0" + ret, set()).add(str(row[3] or ""))
        self.source = source
        self.synonyms, self.exclude = load_synonyms(synonyms_path)
        self.similarity: TextSimilarity = similarity or NgramSimilarity()
        by_class: dict[str, dict[str, int]] = {}
        by_ret: dict[str, dict[str, int]] = {}
        for (cls, ret), n in counts.items():
            by_class.setdefault(cls, {})[ret] = by_class.get(cls, {}).get(ret, 0) + n
            by_ret.setdefault(ret, {})[cls] = by_ret.get(ret, {}).get(cls, 0) + n
        self.entries: list[Entry] = []
        for cls, rets in by_class.items():
            ret = max(rets, key=lambda r: (rets[r], r))
            self.entries.append(_entry(cls, "class", cls, ret, sum(rets.values()), cn.get(cls, ())))
        for ret, classes in by_ret.items():
            rep = max(classes, key=lambda c: (classes[c], c))
            self.entries.append(_entry(ret, "retrieval", rep, ret, sum(classes.values()), cn.get("\0" + ret, ())))
        self._index()
        self._cache: dict[str, LabelMatch | None] = {}

    def _index(self) -> None:
        self._by_key: dict[str, list[Entry]] = {}
        self._by_head: dict[str, list[Entry]] = {}
        for e in sorted(self.entries, key=lambda e: (e.kind != "class", -e.count, e.name)):
            for k in {e.key, e.squashed, *e.aliases}:
                self._by_key.setdefault(k, []).append(e)
            for h in e.heads:
                self._by_head.setdefault(h, []).append(e)
        self._names = sorted({e.name for e in self.entries} | set(self.synonyms))

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_records(cls, records: Iterable[Any], **kw: Any) -> "Vocabulary":
        """From AssetRecords (``class_name``, ``retrieval_class``)."""
        return cls(((r.class_name, r.retrieval_class) for r in records), **kw)

    @classmethod
    def from_catalogue(cls, catalogue: Any, **kw: Any) -> "Vocabulary":
        """From a loaded :class:`~.catalogue.Catalogue`, with its Chinese class names where the rows have them."""
        rows = []
        for ident, rec in catalogue.assets.items():
            raw = catalogue.rows.get(ident, {})
            rows.append((rec.class_name, rec.retrieval_class, raw.get("class_cn", ""), raw.get("retrieval_class_cn", "")))
        kw.setdefault("source", str(catalogue.csv_path))
        return cls(rows, **kw)

    @classmethod
    def from_csv(cls, path: str | Path, **kw: Any) -> "Vocabulary":
        """From a catalogue CSV (or its library folder) without checking asset files: only the names matter.

        Rows marked ``state = abort`` are left out, as the catalogue leaves them out.
        """
        from .catalogue import resolve_csv
        from .csvformat import read_rows

        csv_path, _ = resolve_csv(path)
        rows = [(r.get("class_en", ""), r.get("retrieval_class_en", ""), r.get("class_cn", ""),
                 r.get("retrieval_class_cn", "")) for _, r in read_rows(csv_path)
                if (r.get("state") or "").strip().lower() != "abort"]
        kw.setdefault("source", str(csv_path))
        return cls(rows, **kw)

    @classmethod
    def from_names(cls, names: Iterable[str], **kw: Any) -> "Vocabulary":
        """From bare retrieval-class names (each its own class)."""
        return cls(((n, n) for n in names), **kw)

    @classmethod
    def starter(cls, **kw: Any) -> "Vocabulary":
        """The starter library's vocabulary (``data/starter_vocabulary.json``)."""
        try:
            rows = json.loads(STARTER_PATH.read_text(encoding="utf-8"))["rows"]
        except (OSError, ValueError, KeyError) as exc:
            raise LibraryError(f"{STARTER_PATH} is unreadable ({exc}).",
                               "Restore core/library/data/starter_vocabulary.json from the extension.") from None
        kw.setdefault("source", "starter library")
        return cls(rows, **kw)

    # ---- queries ------------------------------------------------------------------------------
    def classes(self) -> list[str]:
        return sorted(e.name for e in self.entries if e.kind == "class")

    def retrieval_classes(self) -> list[str]:
        return sorted(e.name for e in self.entries if e.kind == "retrieval")

    def class_entry(self, class_name: str) -> Entry | None:
        return next((e for e in self.entries if e.kind == "class" and e.name == class_name), None)

    def __call__(self, label: str) -> list[str]:
        """Retrieval classes ``label`` may mean, best first (empty when nothing matches)."""
        found = self.lookup(label)
        return found.retrieval_classes() if found else []

    def map_labels(self, labels: Iterable[str]) -> dict[str, LabelMatch | None]:
        return {lab: self.lookup(lab) for lab in labels}

    def lookup(self, label: str) -> LabelMatch | None:
        """The best class for ``label`` (rules in the module docstring), or None when nothing matches."""
        label = str(label or "").strip()
        if label not in self._cache:
            self._cache[label] = self._lookup(label) if label else None
        return self._cache[label]

    def _lookup(self, label: str) -> LabelMatch | None:
        ws = words(label)
        content = content_words(ws) or ws
        for n in range(len(content), 0, -1):
            tail = content[-n:]
            factor = 1.0 if n == len(content) else TAIL_FACTOR
            keys = [" ".join(ws), " ".join(tail)] if n == len(content) else [" ".join(tail)]
            raw = label.lower() if n == len(content) else ""
            for k in dict.fromkeys(keys):
                hit = self._exact(k, raw)
                if hit is not None:
                    return self._match(label, hit, factor, "exact" if factor == 1.0 else f"exact:{k}")
            for k in dict.fromkeys(keys):
                found = self._synonym(k)
                if found:
                    (entry, score), rest = found[0], found[1:]
                    return self._match(label, entry, factor * score, f"synonym:{k}", rest, factor)
            hit2 = self._contains(tail)
            if hit2 is not None:
                return self._match(label, hit2[0], factor * hit2[1], f"contains:{' '.join(tail)}")
        return self._similar(label)

    # ---- rules --------------------------------------------------------------------------------
    def _exact(self, k: str, raw: str = "") -> Entry | None:
        for probe in (k, k.replace(" ", ""), raw.strip()):
            if probe and probe in self._by_key:
                return self._by_key[probe][0]
        return None

    def _contains(self, phrase: Sequence[str]) -> tuple[Entry, float] | None:
        """Classes naming something more specific with the same head: all of ``phrase``'s words, same last word."""
        if not phrase:
            return None
        want = set(phrase)
        scored = [(0.82 + 0.08 * len(want) / max(len(e.content), 1) + 0.05 * min(1.0, math.log10(1 + e.count) / 2),
                   e.kind == "class", e) for e in self._by_head.get(phrase[-1], ()) if want <= e.content]
        if not scored:
            return None
        score, _, entry = max(scored, key=lambda t: (t[1], round(t[0], 6), t[2].count, t[2].name))  # classes first
        return entry, min(score, 0.95)

    def _resolve(self, target: str) -> tuple[Entry, float] | None:
        k = key(target)
        hit = self._exact(k, target.lower())
        if hit is not None:
            return hit, 1.0
        return self._contains(content_words(k.split()) or tuple(k.split()))

    def _synonym(self, k: str) -> list[tuple[Entry, float]]:
        out: list[tuple[Entry, float]] = []
        seen: set[str] = set()
        for target in self.synonyms.get(k, ()):
            hit = self._resolve(target)
            if hit is not None and hit[0].class_name not in seen:
                seen.add(hit[0].class_name)
                out.append((hit[0], SYNONYM_FACTOR * hit[1]))
        return sorted(out, key=lambda t: t[1] < SYNONYM_FACTOR)  # exact names first, then in the table's order

    def _similar(self, label: str) -> LabelMatch | None:
        names = self._names
        scores = self.similarity.scores(label, names)
        if not scores:
            return None
        best = max(range(len(names)), key=lambda i: scores[i])
        floor = SIMILAR_MIN.get(self.similarity.name, SIMILAR_MIN_DEFAULT)
        if scores[best] < floor:
            return None
        name = names[best]
        if name in self.synonyms:
            found = self._synonym(name)
            if not found:
                return None
            entry, score = found[0]
        else:
            entry, score = self._by_key[key(name)][0], 1.0
        return self._match(label, entry, SIMILAR_FACTOR * scores[best] * score,
                           f"similar:{self.similarity.name}:{name}")

    def _match(self, label: str, entry: Entry, score: float, via: str,
               rest: Sequence[tuple[Entry, float]] = (), factor: float = 1.0) -> LabelMatch:
        alts = [(e.class_name, e.retrieval_class, round(factor * s, 3)) for e, s in rest]
        return LabelMatch(label, entry.class_name, entry.retrieval_class, round(min(score, 1.0), 3), via,
                          entry.kind == "class", alts)

    # ---- prompts ------------------------------------------------------------------------------
    def indoor_classes(self) -> list[Entry]:
        """Class entries fit for a room's detector prompt, most assets first (see ``not_for_indoor_prompt``)."""
        def excluded(e: Entry) -> bool:
            text = f" {e.key} {key(e.retrieval_class)} "
            return any(f" {w} " in text for w in self.exclude)
        return sorted((e for e in self.entries if e.kind == "class" and not excluded(e)),
                      key=lambda e: (-e.count, e.name))

    def prompt_labels(self, max_tokens: int = DEFAULT_PROMPT_TOKENS, max_labels: int | None = None) -> list[str]:
        """Readable class names for a detector prompt, most frequent first, within ``max_tokens``.

        Tokens are estimated as a word-piece tokenizer counts them (a word per 8 letters, plus the
        separator), so the prompt stays within Grounding DINO's 256-token text length.
        """
        out: list[str] = []
        used = 0
        for e in self.indoor_classes():
            name = readable(e.name)
            if name in out:
                continue
            cost = sum(1 + len(w) // 8 for w in name.split()) + 1
            if used + cost > max_tokens or (max_labels is not None and len(out) >= max_labels):
                break
            out.append(name)
            used += cost
        return out


def vocabulary_for(catalogue_or_path: Any = None, *, similarity: TextSimilarity | None = None) -> Vocabulary:
    """The vocabulary of a Catalogue, a CSV / library folder, AssetRecords, or the starter library (None)."""
    if catalogue_or_path is None:
        return Vocabulary.starter(similarity=similarity)
    if hasattr(catalogue_or_path, "assets") and hasattr(catalogue_or_path, "rows"):
        return Vocabulary.from_catalogue(catalogue_or_path, similarity=similarity)
    if isinstance(catalogue_or_path, (str, Path)):
        return Vocabulary.from_csv(catalogue_or_path, similarity=similarity)
    if isinstance(catalogue_or_path, dict):
        return Vocabulary.from_records(catalogue_or_path.values(), similarity=similarity)
    return Vocabulary.from_records(catalogue_or_path, similarity=similarity)
