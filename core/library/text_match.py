"""Words of object names, made comparable: normalising, singular forms, and text similarity.

Why a module of its own: the vocabulary (:mod:`.vocabulary`) compares what a detector, a VLM or
a person calls a thing ("Night-Stands", "couch", "area rug") with what a catalogue calls its
classes ("Bedside_table", "Multi_person_sofa", "Carpet"). Both sides go through the same
:func:`words` so "TV_cabinet", "tv cabinet" and "TV cabinets" meet.

Similarity for names no rule knows has two implementations with one interface
(:class:`TextSimilarity`): a sentence-embedding or CLIP text model when its weights are
installed (:func:`load_text_encoder`; torch and transformers are imported only there), and a
weight-free one — character trigrams plus word overlap — that needs nothing but the stdlib.
Stdlib only at import time: this runs in Blender's process too.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Protocol, Sequence

STOPWORDS = frozenset({"a", "an", "the", "of", "with", "and", "for", "in", "on", "to", "some", "one", "two", "three"})
IRREGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child", "mice": "mouse",
             "feet": "foot", "teeth": "tooth", "geese": "goose", "dice": "die", "knives": "knife", "lives": "life",
             "leaves": "leaf", "shelves": "shelf", "loaves": "loaf", "scarves": "scarf", "wolves": "wolf",
             "halves": "half", "cacti": "cactus", "radii": "radius", "clothes": "clothes", "series": "series",
             "species": "species", "glasses": "glass", "chassis": "chassis", "canvas": "canvas",
             "headphones": "headphone", "pants": "pants", "scissors": "scissors", "trousers": "trousers",
             "gas": "gas", "bus": "bus", "yes": "yes", "its": "its", "his": "his", "plus": "plus", "lens": "lens",
             "atlas": "atlas", "iris": "iris", "news": "news", "mattress": "mattress"}
_KEEP_S = ("ss", "us", "is")  # glass, cactus, tennis


def singular(word: str) -> str:
    """English singular of one lower-case word, by a few rules and an irregular table (good enough for object names)."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if len(word) <= 2 or not word.endswith("s"):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zzes")):
        return word[:-2]
    if word.endswith("oes") and len(word) > 5:  # tomatoes, potatoes (shoes stays shoe below)
        return word[:-2] if word not in ("shoes", "canoes") else word[:-1]
    if word.endswith("ys") or word.endswith("oos"):
        return word[:-1]
    if word.endswith(_KEEP_S):
        return word
    return word[:-1]


def words(text: str) -> tuple[str, ...]:
    """Lower-case singular words of a name; underscores, hyphens, slashes and camelCase split words.

    ``"Multi_person_sofa"`` → ``("multi", "person", "sofa")``; ``"Night-Stands"`` → ``("night", "stand")``.
    Stopwords are kept here (callers decide); non-Latin text (a Chinese class name) is kept whole.
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(text or ""))
    text = re.sub(r"[_\-/,.;:()\[\]{}'\"!?+&]+", " ", text.lower())
    return tuple(singular(w) for w in text.split() if w)


def key(text: str) -> str:
    """The comparable form of a name: its singular words joined by single spaces."""
    return " ".join(words(text))


def content_words(ws: Sequence[str]) -> tuple[str, ...]:
    """Words without stopwords (``"A_stack_of_banknotes"`` → stack, banknote)."""
    return tuple(w for w in ws if w not in STOPWORDS)


def squash(text: str) -> str:
    """A key without spaces, so "night stand" meets "nightstand" and "book shelf" meets "bookshelf"."""
    return key(text).replace(" ", "")


def readable(name: str) -> str:
    """A class name as a person (or a detector prompt) writes it: ``"Multi_person_sofa"`` → ``"multi person sofa"``."""
    text = re.sub(r"[_]+", " ", str(name or "")).strip()
    return re.sub(r"\s+", " ", text).lower()


class TextSimilarity(Protocol):
    """Similarity in [0, 1] of one query text with each of many names (same order)."""

    name: str

    def scores(self, query: str, names: Sequence[str]) -> list[float]: ...


def _trigrams(text: str) -> Counter:
    padded = f"  {text} "
    return Counter(padded[i:i + 3] for i in range(len(padded) - 2))


def _cosine(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


class NgramSimilarity:
    """Weight-free similarity: character trigrams (spelling, compounds) blended with word overlap.

    Trigrams catch "wastebasket" ~ "waste basket" and typos; word overlap catches shared nouns
    in a different order. Names are compared in :func:`key` form, so plurals do not matter.
    """

    name = "char-trigram+word-overlap"

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Counter, frozenset[str]]] = {}

    def _features(self, text: str) -> tuple[Counter, frozenset[str]]:
        found = self._cache.get(text)
        if found is None:
            k = key(text)
            found = (_trigrams(k.replace(" ", "")), frozenset(content_words(k.split())))
            self._cache[text] = found
        return found

    def scores(self, query: str, names: Sequence[str]) -> list[float]:
        qg, qw = self._features(query)
        out = []
        for name in names:
            ng, nw = self._features(name)
            overlap = len(qw & nw) / max(len(qw | nw), 1)
            out.append(round(0.7 * _cosine(qg, ng) + 0.3 * overlap, 4))
        return out


class EncoderSimilarity:
    """Cosine similarity of sentence embeddings (a sentence-transformers folder or a CLIP text model).

    Name vectors are computed once per name list and cached; the query is embedded per call.
    Raw cosines of such models sit high (unrelated words often score 0.6+), so they are
    stretched to [0, 1] over [``floor``, 1].
    """

    def __init__(self, encode: Any, name: str, floor: float = 0.5) -> None:
        self._encode = encode
        self.name = name
        self.floor = floor
        self._names: tuple[str, ...] = ()
        self._matrix: Any = None

    def scores(self, query: str, names: Sequence[str]) -> list[float]:
        import numpy as np

        names = tuple(names)
        if names != self._names:
            self._matrix = self._encode([readable(n) for n in names])
            self._names = names
        q = self._encode([readable(query)])[0]
        cos = np.asarray(self._matrix) @ np.asarray(q)
        return [round(float(min(1.0, max(0.0, (c - self.floor) / (1.0 - self.floor)))), 4) for c in cos]


def load_text_encoder(folder: str | Path | None, device: str = "cpu") -> EncoderSimilarity | None:
    """A text-embedding similarity from a local transformers folder, or None when there is none.

    A CLIP checkpoint (``model_type`` clip / clip_text_model) uses its projected text features; any
    other encoder (e.g. sentence-transformers/all-MiniLM-L6-v2) uses attention-masked mean pooling.
    Missing weights are not an error: the caller falls back to :class:`NgramSimilarity` and says so.
    """
    if folder is None:
        return None
    path = Path(folder).expanduser()
    if not (path / "config.json").is_file():
        return None
    import json

    import numpy as np
    import torch
    from transformers import AutoTokenizer

    model_type = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type", "")
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if model_type in ("clip", "clip_text_model"):
        from transformers import CLIPTextModelWithProjection

        model = CLIPTextModelWithProjection.from_pretrained(str(path), local_files_only=True).to(device).eval()

        def _forward(batch: Any) -> Any:
            return model(**batch).text_embeds
    else:
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(path), local_files_only=True).to(device).eval()

        def _forward(batch: Any) -> Any:
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)

    def encode(texts: list[str]) -> Any:
        out = []
        with torch.no_grad():
            for start in range(0, len(texts), 256):
                batch = tokenizer(texts[start:start + 256], padding=True, truncation=True, max_length=32,
                                  return_tensors="pt").to(device)
                vec = _forward(batch).float()
                out.append(torch.nn.functional.normalize(vec, dim=-1).cpu().numpy())
        return np.concatenate(out, axis=0) if out else np.zeros((0, 1), np.float32)

    return EncoderSimilarity(encode, f"text-encoder:{path.name}")
