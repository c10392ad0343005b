"""The small interfaces every backend implements, and the plain records they exchange.

Keeping them this small is what lets a user's own depth map or detections file stand in for
a model, and lets tests run the real pipeline with tiny random models.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..geometry.camera import Intrinsics


@dataclass
class RawDetection:
    """One detected instance before it becomes a :class:`core.schema.Detection`.

    ``mask`` is a bool (H, W) array at image size or None; ``mask_source`` says where it came from
    (``detector``, ``file``, ``depth-segmentation``) so the Observation's provenance is honest.
    """

    label: str
    score: float
    box: tuple[float, float, float, float]
    mask: np.ndarray | None = None
    mask_source: str = "detector"


@dataclass
class VlmObjectAnswer:
    """What the VLM said about one object (fields None when it did not say)."""

    id: str
    keep: bool = True
    relation: str | None = None  # on_floor | on_object | against_wall | hanging_on_wall | hanging_from_ceiling
    support: str | None = None  # an object id when relation is on_object
    facing: str | None = None
    plausible_size: bool | None = None


@dataclass
class VlmAnswer:
    objects: dict[str, VlmObjectAnswer] = field(default_factory=dict)
    groups: list[list[str]] = field(default_factory=list)
    missing_labels: list[str] = field(default_factory=list)
    model: str = ""
    calls: int = 0


@runtime_checkable
class DepthBackend(Protocol):
    """Metric z-depth in metres, (H, W) float32 at the image's size; NaN where unknown."""

    name: str

    def predict(self, rgb: np.ndarray, k: Intrinsics) -> np.ndarray: ...


@runtime_checkable
class DetectionBackend(Protocol):
    """Instances of the given labels; masks may be None (the pipeline segments inside the box)."""

    name: str

    def detect(self, rgb: np.ndarray, labels: list[str], **context: Any) -> list[RawDetection]: ...


@runtime_checkable
class VlmBackend(Protocol):
    """Relations, groups and facing for already-detected objects, as structured answers."""

    name: str

    def describe(self, rgb: np.ndarray, objects: list[dict[str, Any]], labels: list[str]) -> VlmAnswer: ...
