"""Choosing the backends from settings, secrets and what the user brought.

Heavy modules (torch, transformers, the API SDKs) are imported only inside the chosen
backend, so a user with a depth map and a detections file never needs any of them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import Secrets, Settings
from ..errors import ConfigError, MissingWeightsError
from ..geometry.camera import Intrinsics
from .depth_io import DepthReport, read_depth
from .detections_file import FileDetections
from .protocols import DepthBackend, DetectionBackend, VlmBackend


class FileDepth:
    """The user's own depth map as a depth backend, read by :func:`core.perception.depth_io.read_depth`.

    Units are detected (metres, millimetres, SUN RGB-D's bit-rotated PNG), flying pixels removed
    and sparse maps filled in guided by the photo; after :meth:`predict`, ``last_report`` says
    what was assumed and done (its ``notes`` belong in ``Observation.notes``).
    """

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.last_report: DepthReport | None = None

    def predict(self, rgb: np.ndarray, k: Intrinsics) -> np.ndarray:
        h, w = rgb.shape[:2]
        focal = k.fx * w / k.width if k.width else None
        depth, self.last_report = read_depth(self.path, w, h, rgb=rgb, focal_px=focal)
        return depth


def model_dir(settings: Settings, name: str, base: Path | None = None) -> Path | None:
    """A local model folder: ``name`` itself if it is a folder, else ``weights_dir/name``; None if absent."""
    direct = Path(name).expanduser()
    if direct.is_dir():
        return direct
    weights = settings.resolve_path(settings.paths.weights_dir, base)
    candidate = weights / name
    return candidate if candidate.is_dir() else None


def depth_backend(settings: Settings, depth_path: str | Path | None) -> DepthBackend:
    if depth_path is not None:
        return FileDepth(depth_path)
    from .depth_anything import DepthAnythingBackend

    return DepthAnythingBackend.from_settings(settings, pick_device(settings))


def detection_backend(settings: Settings, secrets: Secrets, detections_path: str | Path | None) -> DetectionBackend:
    choice = settings.detection.backend
    if detections_path is not None:
        return FileDetections(detections_path)
    if choice == "file":
        raise ConfigError("detection.backend is 'file' but no detections file was given.",
                          "Pass --detections DET.json, or set detection.backend to auto, dds or local.")
    if choice not in ("auto", "dds", "local"):
        raise ConfigError(f"detection.backend = {choice!r} is not one of auto, dds, local, file.",
                          "Set detection.backend to auto, dds, local or file.")
    if choice == "dds" or (choice == "auto" and secrets.dds_api_token):
        from .dds_detector import DdsDetector

        return DdsDetector(settings.detection, secrets)
    folder = model_dir(settings, settings.detection.local_model)
    if folder is None:
        from ..models.registry import fix_for, get

        raise MissingWeightsError(
            f"No detector available: no DDS token and no local Grounding DINO at "
            f"{settings.paths.weights_dir}/{settings.detection.local_model}.",
            "Set DDS_API_TOKEN for DINO-X (Preferences → Imaginarium → DDS token), or "
            + fix_for(get("grounding_dino")) + " Or give a detections file (--detections).")
    from .grounding_dino import GroundingDinoLocal

    return GroundingDinoLocal(folder, settings.detection, pick_device(settings))


def vlm_backend(settings: Settings, secrets: Secrets) -> VlmBackend | None:
    """Claude when a key is set; None means the scene graph comes from geometry alone."""
    if not secrets.anthropic_api_key:
        return None
    from .claude_vlm import ClaudeVlm

    return ClaudeVlm(settings.vlm, secrets)


def pick_device(settings: Settings) -> str:
    want = settings.device.device
    if want in ("cpu", "cuda"):
        return want
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"
