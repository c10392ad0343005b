"""Depth Anything V2 (metric) through transformers' ``DepthAnythingForDepthEstimation``.

Weights: a local Hugging Face folder (``config.json`` + ``model.safetensors``), by default
``<weights_dir>/depth-anything-v2-metric-indoor-large`` (Preferences → Imaginarium → Models →
Download, or ``depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf`` by hand), a hub id
already in the Hugging Face cache, or the Imaginarium release's original-format
``depth_anything_v2_metric_hypersim_vitl.pth`` (converted once by :mod:`core.models.convert`)
— nothing is downloaded at run time. A loaded model stays in memory for the worker's life, so
the second image of a session does not read the weights again.

Pre-processing is ours, not the library's image processor, so it is explicit and tested: the
image is scaled so its shorter side is ``input_size`` (518 by default, what the model was
trained at), each side rounded to a multiple of the 14-pixel patch keeping the aspect ratio,
bicubic-resized and ImageNet-normalised. The prediction is resized back to the image
bilinearly. The metric head outputs ``sigmoid × max_depth``; ``max_depth`` must match the
checkpoint (indoor 20 m, outdoor 80 m) and is taken from settings.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import ConfigError, MissingWeightsError
from ..geometry.camera import Intrinsics

PATCH = 14
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
HUB_ID = "depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf"
_LOADED: dict[tuple[str, str, int, int], Any] = {}  # (source, device, max depth, files' mtime) → model, kept warm


def _weights_fix(place: Path | str | None = None) -> str:
    from ..models.registry import fix_for, get

    return fix_for(get("depth"), place)


def model_input_size(width: int, height: int, input_size: int) -> tuple[int, int]:
    """(width, height) for the model: shorter side ≈ input_size, both multiples of 14, aspect kept."""
    scale = input_size / min(width, height)
    return (max(PATCH, int(round(width * scale / PATCH)) * PATCH),
            max(PATCH, int(round(height * scale / PATCH)) * PATCH))


def preprocess(rgb: np.ndarray, input_size: int) -> np.ndarray:
    """(1, 3, h, w) float32, normalised; h and w multiples of 14."""
    import cv2

    w, h = model_input_size(rgb.shape[1], rgb.shape[0], input_size)
    resized = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    return ((resized - MEAN) / STD).transpose(2, 0, 1)[None].copy()


class DepthAnythingBackend:
    """Loads once (lazily, on first use) and stays warm in the worker."""

    name = "depth-anything-v2"

    def __init__(self, source: str | Path, *, max_depth: float = 20.0, input_size: int = 518, device: str = "cpu",
                 local_only: bool = True) -> None:
        self.source = str(source)
        self.max_depth = float(max_depth)
        self.input_size = int(input_size)
        self.device = device
        self.local_only = local_only
        self._model: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, device: str) -> "DepthAnythingBackend":
        from .backends import model_dir

        folder = model_dir(settings, settings.depth.model)
        source: str | Path | None = folder
        published = _published_file(settings)
        if published is not None:
            source = published  # the original repository's .pth: converted on first load
        elif folder is None and "/" in settings.depth.model and not Path(settings.depth.model).exists():
            source = settings.depth.model  # a hub id: only from the local Hugging Face cache
        if source is None:
            raise MissingWeightsError(
                f"Depth model {settings.depth.model!r} is not in {settings.paths.weights_dir}.",
                _weights_fix(Path(settings.paths.weights_dir) / settings.depth.model)
                + " Or give your own depth map: --depth.")
        backend = cls(source, max_depth=settings.depth.max_depth_m, input_size=settings.depth.input_size, device=device)
        backend.converted_dir = settings.models.converted_dir
        return backend

    converted_dir: str | None = None

    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        key = (self.source, self.device, int(round(self.max_depth)), _stamp(self.source))
        if key in _LOADED:
            self._model = _LOADED[key]
            return self._model
        import torch
        from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation

        if Path(self.source).is_file() and Path(self.source).suffix == ".pth":
            from ..models.convert import DEPTH, converted_folder

            self.source = str(converted_folder(self.source, DEPTH, max_depth=self.max_depth,
                                               cache_dir=self.converted_dir))
        folder = Path(self.source)
        if folder.is_dir() and not ((folder / "config.json").is_file() and any(folder.glob("*.safetensors"))):
            raise MissingWeightsError(f"Cannot read a Depth Anything model at {self.source} (no config.json and "
                                      "*.safetensors there).", _weights_fix(folder))
        try:
            config = DepthAnythingConfig.from_pretrained(self.source, local_files_only=self.local_only)
        except (OSError, ValueError) as exc:
            raise MissingWeightsError(f"Cannot read a Depth Anything model at {self.source} ({exc}).",
                                      _weights_fix(self.source)) from None
        if config.depth_estimation_type != "metric":
            raise ConfigError(f"The depth model at {self.source} predicts relative depth, not metres.",
                              "Choose a metric checkpoint such as depth-anything-v2-metric-indoor-large as the Depth "
                              "model in Preferences → Imaginarium (depth.model in the config file), or give your "
                              "own depth map: --depth.")
        if abs(self.max_depth - round(self.max_depth)) > 1e-6 or self.max_depth <= 0:
            raise ConfigError(f"depth.max_depth_m = {self.max_depth} must be a positive whole number of metres.",
                              "Set depth.max_depth_m in the config file (or IMAGINARIUM_DEPTH_MAX_DEPTH_M) to the "
                              "checkpoint's value: 20 for indoor, 80 for outdoor models.")
        config.max_depth = int(round(self.max_depth))  # transformers 5 requires an int
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            model = DepthAnythingForDepthEstimation.from_pretrained(self.source, config=config, dtype=dtype,
                                                                    local_files_only=self.local_only)
        except OSError as exc:
            raise MissingWeightsError(f"Depth model weights at {self.source} are missing or unreadable ({exc}).",
                                      _weights_fix(self.source)) from None
        self._model = _LOADED[key] = model.to(self.device).eval()
        return self._model

    def predict(self, rgb: np.ndarray, k: Intrinsics) -> np.ndarray:
        """Metric z-depth (H, W) float32 in metres at the image's size."""
        import torch
        import torch.nn.functional as F

        model = self._load()
        pixels = torch.from_numpy(preprocess(rgb, self.input_size)).to(self.device, dtype=model.dtype)
        with torch.inference_mode():
            pred = model(pixel_values=pixels).predicted_depth  # (1, h, w)
            pred = F.interpolate(pred[:, None].float(), size=rgb.shape[:2], mode="bilinear", align_corners=False)
        depth = pred[0, 0].cpu().numpy().astype(np.float32)
        return np.clip(depth, 1e-3, self.max_depth)


def _published_file(settings: Settings) -> Path | None:
    """``depth.model`` naming an original-format ``.pth`` file (absolute, or under the weights folder)."""
    name = Path(settings.depth.model).expanduser()
    if name.suffix != ".pth":
        return None
    path = name if name.is_absolute() else settings.resolve_path(settings.paths.weights_dir) / name
    return path if path.is_file() else None


def _stamp(source: str) -> int:
    """Newest modification time of the weights, so a model replaced on disk is loaded again."""
    path = Path(source)
    files = [path] if path.is_file() else list(path.glob("*.safetensors")) + list(path.glob("config.json"))
    return max((f.stat().st_mtime_ns for f in files if f.exists()), default=0)
