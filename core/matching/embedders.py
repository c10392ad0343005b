"""One interface for image embedders, and the choice between them.

Retrieval and pose need two things from an image crop: one global vector (what the object is)
and a grid of patch vectors (which part is where). DINOv2 gives both; without its weights the
classical embedder (colour, gradient and silhouette statistics) gives the same two shapes so
the rest of the matching code never asks which one it has. Features are L2-normalised float32;
patch vectors of background patches are all zero, so they never match anything.

Store kinds are ``<embedder.name>_global`` [D] and ``<embedder.name>_patch`` [P, D].
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from ..config import Settings
from ..errors import ConfigError, MissingWeightsError
from .crops import Crop

log = logging.getLogger(__name__)

FOREGROUND_MIN = 0.5  # a patch is foreground when the mask covers at least this fraction of it


@runtime_checkable
class Embedder(Protocol):
    """Turns square crops into a global vector and a patch grid per crop."""

    name: str          # prefix of the store kinds, e.g. "dinov2", "classical"
    input_size: int    # side of the square crop it wants, pixels
    grid: int          # patches per side; patch p sits at row p // grid, column p % grid

    def dims(self) -> dict[str, tuple[int, ...]]:
        """Feature shape per suffix: {"global": (D,), "patch": (P, Dp)}."""
        ...

    def embed(self, crops: Sequence[Crop]) -> dict[str, np.ndarray]:
        """{"global": float32 [B, D], "patch": float32 [B, P, Dp]}, L2-normalised, background patches zero."""
        ...


def kind(embedder: Embedder, suffix: str) -> str:
    """The FeatureStore kind holding ``suffix`` ("global" | "patch") features of this embedder."""
    return f"{embedder.name}_{suffix}"


def normalise(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """L2-normalise along ``axis``; all-zero vectors stay zero."""
    n = np.linalg.norm(x, axis=axis, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


def zero_background(patch: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Zero the patch vectors whose mask coverage is below FOREGROUND_MIN ([B, P, D] and [B, P])."""
    keep = (coverage >= FOREGROUND_MIN).astype(np.float32)
    return (patch * keep[..., None]).astype(np.float32)


def dinov2_folder(settings: Settings, base_dir: str | Path | None = None) -> Path:
    """Where the configured DINOv2 checkpoint should be (weights_dir / retrieval.dinov2_model)."""
    model = settings.retrieval.dinov2_model
    p = Path(model).expanduser()
    if p.is_absolute():
        return p
    return settings.resolve_path(settings.paths.weights_dir, base_dir) / model


def dinov2_installed(folder: Path) -> bool:
    """A transformers checkpoint folder (config.json plus a weights file), or a facebookresearch ``.pth``
    file that :mod:`core.models.convert` turns into one on first use."""
    if folder.suffix == ".pth":
        return folder.is_file()
    if not (folder / "config.json").is_file():
        return False
    return any((folder / n).is_file() for n in ("model.safetensors", "pytorch_model.bin")) or \
        any(folder.glob("model-*.safetensors"))


_CACHE: dict[tuple[str, str], Embedder] = {}


def load_embedder(settings: Settings, *, base_dir: str | Path | None = None,
                  notify: Callable[[str], Any] | None = None) -> tuple[Embedder, list[str]]:
    """The embedder the settings ask for, and notes for the result (e.g. the classical fallback).

    ``retrieval.embedder``: ``dinov2`` needs the weights (MissingWeightsError with the path
    otherwise); ``classical`` needs none; ``auto`` takes DINOv2 when its folder is complete and
    falls back to the classical embedder with a notice otherwise. Loaded models stay cached so a
    warm worker does not reload them.
    """
    choice = settings.retrieval.embedder.strip().lower()
    if choice not in ("auto", "dinov2", "classical"):
        raise ConfigError(f"retrieval.embedder = {settings.retrieval.embedder!r} is not a known embedder.",
                          "Use auto, dinov2 or classical.")
    notes: list[str] = []
    folder = dinov2_folder(settings, base_dir)
    if choice in ("auto", "dinov2") and dinov2_installed(folder):
        key = (str(folder), settings.device.device)
        if key not in _CACHE:
            from .dinov2 import Dinov2Embedder
            _CACHE[key] = Dinov2Embedder.from_folder(folder, device=settings.device.device,
                                                     converted_dir=settings.models.converted_dir)
        return _CACHE[key], notes
    if choice == "dinov2":
        from ..models.registry import fix_for, get

        raise MissingWeightsError(f"DINOv2 weights not found in {folder} (need config.json and model.safetensors).",
                                  fix_for(get("dinov2"), folder) + " Or set retrieval.embedder = classical.")
    if choice == "auto":
        msg = (f"DINOv2 weights not installed at {folder}: using the weight-free classical embedder "
               "(colour/gradient/silhouette); retrieval and pose are less accurate "
               "(Preferences → Imaginarium → Models → DINOv2 → Download).")
        log.warning(msg)
        if notify:
            notify(msg)
        notes.append(msg)
    from .classical import ClassicalEmbedder
    return _CACHE.setdefault(("classical", ""), ClassicalEmbedder()), notes
