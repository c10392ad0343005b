"""The detector's labels come from the library: what the VLM sees, in the catalogue's words, or the library's classes.

Why: a fixed prompt ("bed, sofa, …") asks for things the library cannot place and misses things it
can. As in the published system, the VLM first names the objects in the image using the
catalogue's own class names; the detector is then prompted with exactly those (deduplicated —
two names that map to one class are asked once). Without a VLM key the prompt is the library's
indoor classes, most assets first, as many as fit the detector's prompt
(:meth:`~core.library.vocabulary.Vocabulary.prompt_labels`). Either way the labels used are
returned with where they came from, for the run's provenance.

The image goes to the VLM as PNG from our RGB array (channels in RGB order: the published code
sends OpenCV's BGR by mistake on this call).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from ..library.text_match import readable
from ..library.vocabulary import DEFAULT_PROMPT_TOKENS, Vocabulary
from . import prompts
from .json_check import validate

MAX_CATALOGUE_NAMES = 600  # classes shown to the VLM (the published catalogue has 497)


class ObjectLister(Protocol):
    """Names the objects visible in an image, choosing from ``class_names``."""

    name: str

    def list_objects(self, rgb: np.ndarray, class_names: list[str]) -> list[str]: ...


@dataclass
class DetectionLabels:
    """The detector's labels and where they came from (recorded in the run's provenance)."""

    labels: list[str]
    source: str
    notes: list[str] = field(default_factory=list)
    vlm_names: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        return {"labels": self.labels, "source": self.source, "vlm_names": self.vlm_names, "notes": self.notes}


def labels_from_names(names: Sequence[str], vocabulary: Vocabulary) -> tuple[list[str], list[str]]:
    """Readable, deduplicated detector labels for the VLM's names (one per class), and notes.

    A name the vocabulary cannot map is kept as the VLM wrote it (the object will be a labelled
    box if nothing in the library fits) — with a note, never dropped.
    """
    labels: list[str] = []
    seen: set[str] = set()
    notes: list[str] = []
    for raw in names:
        name = str(raw or "").strip()
        if not name:
            continue
        match = vocabulary.lookup(name)
        cls = match.class_name if match and match.specific else (match.retrieval_class if match else None)
        label = readable(cls) if cls else name.lower()
        if cls is None:
            notes.append(f"the VLM named {name!r}, which no library class matches; it is detected by that name")
        dedupe = cls or label
        if dedupe in seen:
            continue
        seen.add(dedupe)
        labels.append(label)
    return labels, notes


def _fit(labels: list[str], max_tokens: int) -> tuple[list[str], list[str]]:
    out, used = [], 0
    for lab in labels:
        cost = sum(1 + len(w) // 8 for w in lab.split()) + 1
        if used + cost > max_tokens:
            return out, [f"{len(labels) - len(out)} label(s) beyond the detector's prompt length left out: "
                         + ", ".join(labels[len(out):])]
        out.append(lab)
        used += cost
    return out, []


def detection_labels(rgb: np.ndarray, vocabulary: Vocabulary, lister: ObjectLister | None = None, *,
                     max_tokens: int = DEFAULT_PROMPT_TOKENS) -> DetectionLabels:
    """Labels for the detector: the VLM's list mapped to the library's classes, else the library's indoor classes."""
    if lister is not None:
        names = [readable(c) for c in vocabulary.classes()][:MAX_CATALOGUE_NAMES]
        said = lister.list_objects(rgb, names)
        labels, notes = labels_from_names(said, vocabulary)
        labels, more = _fit(labels, max_tokens)
        if labels:
            return DetectionLabels(labels, f"vlm:{lister.name}", notes + more, list(said))
        notes.append("the VLM listed no object; the library's indoor classes are used")
        fallback = vocabulary.prompt_labels(max_tokens)
        return DetectionLabels(fallback, f"library:{vocabulary.source or 'catalogue'}", notes, list(said))
    labels = vocabulary.prompt_labels(max_tokens)
    return DetectionLabels(labels, f"library:{vocabulary.source or 'catalogue'}",
                           [f"no VLM key: the detector looks for the library's {len(labels)} most common indoor classes"])


class ClaudeObjectLister:
    """:class:`ObjectLister` through Anthropic's Messages API, answering through the ``list_objects`` tool."""

    def __init__(self, settings: Any, secrets: Any, *, max_retries: int = 2) -> None:
        from .claude_vlm import ClaudeVlm  # the client, its key check and its settings

        self._vlm = ClaudeVlm(settings, secrets, max_retries=max_retries)
        self.settings = settings
        self.name = f"claude ({settings.model})"
        self.calls = 0

    def list_objects(self, rgb: np.ndarray, class_names: list[str]) -> list[str]:
        from .claude_tools import ask_tool
        from .claude_vlm import encode_png_rgb

        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": encode_png_rgb(rgb)}}
        messages: list[dict[str, Any]] = [{"role": "user", "content": [
            image, {"type": "text", "text": prompts.list_prompt(class_names)}]}]

        def check(data: Any) -> str:
            return "; ".join(validate(data, prompts.LIST_TOOL["input_schema"], "input")[:5])

        data, calls = ask_tool(self._create, messages, prompts.LIST_TOOL["name"], check, prompts.list_retry_prompt,
                               model=self.settings.model, what="the object list")
        self.calls += calls
        return [str(o) for o in data["objects"]]

    def _create(self, messages: list[dict[str, Any]]) -> Any:
        """One call; the SDK's errors become the same typed errors the scene-graph call raises."""
        from .claude_tools import call_tool

        return call_tool(self._vlm._client, model=self.settings.model, timeout_s=self.settings.timeout_s,
                         key=self._vlm._key, system=prompts.LIST_SYSTEM, tool=prompts.LIST_TOOL, messages=messages,
                         max_tokens=2048, what="the object list")
