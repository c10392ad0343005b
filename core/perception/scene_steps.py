"""Perceive's steps that need more than the photo: the library, the depth's report, openings, groups, a second look.

Kept apart from :mod:`.pipeline` so the pipeline reads as the recipe. Each function is one step
and returns what it decided plus the notes that say so:

* :func:`library_context` — the library (when the caller knows it) as the detector's vocabulary
  and the source of class sizes for the VLM's size verdicts;
* :func:`estimate_depth` — the user's depth file (units detected, flying pixels removed, sparse
  maps filled: :mod:`.depth_io`) or the model's (its blurred edges cleaned the same way), with a
  :class:`~.depth_io.DepthReport` either way, so a cached run repeats the notes;
* :func:`choose_labels` — the detector's labels: given, else what the VLM sees in the library's
  words, else the library's classes, else the built-in list (:mod:`.vocabulary_prompt`);
* :func:`opening_objects` — windows and doors set into their walls (:mod:`.openings`);
* :func:`check_groups` — geometric groups kept only when their crops look alike (:mod:`.verdicts`);
* :func:`look_again` — a second detector pass for what the first missed (:mod:`.second_look`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import Secrets, Settings
from ..errors import BadInputError
from ..geometry.camera import Intrinsics
from ..geometry.room import RoomEstimate
from ..schema import SceneGraph, SceneObject
from . import backends
from . import stage_files as sf
from .depth_io import DepthReport
from .prompts import DEFAULT_LABELS
from .protocols import RawDetection
from .vocabulary_prompt import DetectionLabels


@dataclass
class LibraryContext:
    """What perception knows of the asset library: its records (for class sizes) and its vocabulary."""

    assets: dict[str, Any] | None = None
    vocabulary: Any = None
    csv_sha: str | None = None
    notes: list[str] = field(default_factory=list)

    def labels_key(self) -> list[str] | None:
        """What the chosen labels depend on: the vocabulary's source and class names (not the chosen labels,
        which a VLM picks — so a cached run needs no API call to know its key)."""
        if self.vocabulary is None:
            return None
        names = "\n".join(sorted(self.vocabulary.classes()) + ["--"] + sorted(self.vocabulary.retrieval_classes()))
        return [str(self.vocabulary.source), hashlib.sha256(names.encode()).hexdigest()[:20],
                getattr(self.vocabulary.similarity, "name", "")]

    def fingerprint(self) -> list[Any] | None:
        """What the observation read of the library: the labels key plus the catalogue's content (sizes)."""
        key = self.labels_key()
        return None if key is None else key + [self.csv_sha]

    def size_priors(self) -> Any:
        """Class size priors of this library (its own classes and vocabulary, the shipped table for the rest),
        for the 3D boxes and the VLM's size refinement; None without a library (the shipped table is used)."""
        if not self.assets:
            return None
        from ..library.priors import SizePriors, default_priors

        return SizePriors.from_assets(self.assets.values(), source="the library", vocabulary=self.vocabulary,
                                      broad=default_priors())

    def verdict_size_prior(self) -> Any:
        """label → (median size, source) for the VLM's "implausible size" verdicts (:mod:`.verdicts`)."""
        from .verdicts import size_prior_from_records

        if self.assets is None or self.vocabulary is None:
            return None
        return size_prior_from_records(self.assets.values(), self.vocabulary)


def library_context(library: Any, vocabulary: Any, settings: Settings) -> LibraryContext:
    """``library``: a library folder (or its CSV), a loaded Catalogue, or None; ``vocabulary`` overrides its own."""
    from ..matching import store_access
    from ..runfolder import sha256_file

    if library is None:
        return LibraryContext(None, vocabulary)
    notes: list[str] = []
    if isinstance(library, (str, Path)):
        catalogue, notes = store_access.load_library_catalogue(library)
    else:
        catalogue = library
    assets = dict(getattr(catalogue, "assets", catalogue))
    if vocabulary is None:
        vocabulary, more = store_access.library_vocabulary(catalogue, settings)
        notes += more
    csv = getattr(catalogue, "csv_path", None)
    sha = sha256_file(Path(csv)) if csv is not None and Path(csv).is_file() else None
    return LibraryContext(assets, vocabulary, sha, notes)


def estimate_depth(settings: Settings, depth_in: Path | None, rgb: np.ndarray,
                   k: Intrinsics) -> tuple[np.ndarray, DepthReport]:
    """(float32 metres at image size, the report of what was assumed and done)."""
    from .depth_clean import remove_flying_pixels

    h, w = rgb.shape[:2]
    backend = backends.depth_backend(settings, depth_in)
    depth = np.asarray(backend.predict(rgb, k)).astype(np.float32)
    if depth.shape != (h, w):
        raise BadInputError(f"Depth backend returned {depth.shape}, expected {(h, w)}.", "Report this as a bug.")
    report = getattr(backend, "last_report", None)
    if report is not None:
        return depth, report
    # A model's depth: its edges blur from object to background, the same flying pixels a sensor makes.
    valid = float(np.isfinite(depth).mean())
    depth, removed = remove_flying_pixels(depth, k.fx)
    report = DepthReport(source=f"{backend.name} ({settings.depth.model})", units_assumed="metres",
                         valid_fraction=valid, flying_removed=float(removed.mean()),
                         final_valid_fraction=float(np.isfinite(depth).mean()))
    if removed.any():
        report.notes.append(f"depth: removed {int(removed.sum())} flying pixels ({report.flying_removed:.2%}) at the "
                            "model's depth edges (readings between an object and what is behind it)")
    return depth, report


def choose_labels(rgb: np.ndarray, given: list[str] | None, lib: LibraryContext, det_in: Path | None,
                  settings: Settings, secrets: Secrets) -> DetectionLabels:
    """The labels to detect (and the categories the VLM may name): see the module docstring."""
    if given is not None:
        return DetectionLabels(list(given), "given")
    vocab = lib.vocabulary
    if det_in is not None:  # the file decides what is detected; these only tell the VLM what can be placed
        labels = vocab.prompt_labels() if vocab is not None else list(DEFAULT_LABELS)
        return DetectionLabels(sf.clean_labels(labels, DEFAULT_LABELS),
                               f"library:{vocab.source}" if vocab is not None else "default")
    if vocab is None:
        return DetectionLabels(list(DEFAULT_LABELS), "default",
                               ["no library given: the detector looks for the built-in list of common furniture"])
    from .vocabulary_prompt import ClaudeObjectLister, detection_labels

    lister = ClaudeObjectLister(settings.vlm, secrets) if secrets.anthropic_api_key else None
    chosen = detection_labels(rgb, vocab, lister)
    chosen.labels = sf.clean_labels(chosen.labels, DEFAULT_LABELS)
    return chosen


def opening_objects(openings: Sequence[RawDetection], ids: Sequence[str], k: Intrinsics,
                    room: RoomEstimate) -> list[SceneObject]:
    """Each window / door detection as a SceneObject hung in its wall (or kept as removed, with the reason)."""
    from .openings import opening_object

    out = []
    for oid, d in zip(ids, openings):
        obj = opening_object(oid, d.label, sf.to_detection(d, oid), d.mask, k, room.world_from_camera, room.planes,
                             confidence=round(float(d.score), 4))
        if d.mask_source in sf.MASK_NOTES:
            obj.notes.insert(0, sf.MASK_NOTES[d.mask_source])
        out.append(obj)
    return out


def check_groups(graph: SceneGraph, rgb: np.ndarray, masks: dict[str, np.ndarray], settings: Settings,
                 answer: Any) -> list[str]:
    """Split geometric groups whose members do not look alike; only when the VLM gave no groups.

    Loading an embedder costs time, so nothing is loaded unless a group exists to check.
    """
    if answer is not None and answer.groups:
        return []
    if not any(o.group for o in graph.objects):
        return []
    from ..matching.embedders import load_embedder
    from .verdicts import crop_features, gate_groups, look_alike_threshold

    embedder, _ = load_embedder(settings)
    grouped = {o.id for o in graph.objects if o.group}
    feats = crop_features(rgb, {oid: m for oid, m in masks.items() if oid in grouped}, embedder)
    return gate_groups(graph, feats, look_alike_threshold(embedder.name))


def look_again(rgb: np.ndarray, depth: np.ndarray, k: Intrinsics, room: RoomEstimate, detector: Any,
               labels: list[str], existing: list[RawDetection], answer: Any, image_path: str, ctx: Any) -> list[Any]:
    """Second-look hits: the VLM's missing labels, or (without a VLM) uncovered regions off the room's planes."""
    from .plane_distance import plane_distance_map
    from .second_look import second_look

    hits = second_look(rgb, detector, labels, existing,
                       missing_labels=answer.missing_labels if answer is not None else None,
                       plane_distance=None if answer is not None else plane_distance_map(depth, k, room),
                       depth=depth, image_path=image_path, ctx=ctx)
    return [h for h in hits if 0 < len(h.detection.label) <= sf.MAX_LABEL_CHARS]
