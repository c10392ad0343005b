"""DINOv2 through transformers: the CLS token as the global vector, the patch tokens as the grid.

Why our own preprocessing instead of the hub's image processor: crops are already square and
masked (crops.py), and templates and photos must be resized identically; a fixed 224² input
gives the 16×16 patch grid the pose code relies on for ViT-*/14. torch is imported only here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import MissingWeightsError
from .crops import Crop, patch_mask
from .embedders import normalise, zero_background

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
NAMES = {384: "dinov2_small", 768: "dinov2_base", 1024: "dinov2", 1536: "dinov2_giant"}


def pick_device(device: str) -> str:
    """``auto`` → CUDA when torch sees a GPU, else CPU."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class Dinov2Embedder:
    """Batched DINOv2 features; fp16 on GPU, fp32 on CPU."""

    def __init__(self, model: Any, *, device: str = "auto", input_size: int = 224, batch_size: int = 16) -> None:
        import torch

        self.device = pick_device(device)
        self.dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.model = model.to(self.device, dtype=self.dtype).eval()
        cfg = model.config
        self.patch_size = int(cfg.patch_size)
        self.input_size = int(input_size) // self.patch_size * self.patch_size
        self.grid = self.input_size // self.patch_size
        self.hidden = int(cfg.hidden_size)
        self.name = NAMES.get(self.hidden, f"dinov2_{self.hidden}d")
        self.batch_size = max(1, int(batch_size))

    @classmethod
    def from_folder(cls, folder: str | Path, *, device: str = "auto", converted_dir: str | None = None,
                    **kw: Any) -> "Dinov2Embedder":
        """Load a transformers DINOv2 checkpoint folder (offline), or the original ``dinov2_vitl14.pth``.

        An original-format ``.pth`` (facebookresearch layout, as the Imaginarium release ships it)
        is converted to a transformers folder once (:mod:`core.models.convert`) and loaded from there.
        """
        from transformers import Dinov2Model

        from ..models.registry import fix_for, get

        if Path(folder).is_file() and Path(folder).suffix == ".pth":
            from ..models.convert import DINOV2, converted_folder

            folder = converted_folder(folder, DINOV2, cache_dir=converted_dir)
        try:
            model = Dinov2Model.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise MissingWeightsError(f"Cannot load DINOv2 from {folder}: {exc}",
                                      fix_for(get("dinov2"), folder)) from None
        return cls(model, device=device, **kw)

    def dims(self) -> dict[str, tuple[int, ...]]:
        return {"global": (self.hidden,), "patch": (self.grid * self.grid, self.hidden)}

    def _pixels(self, crops: Sequence[Crop]) -> np.ndarray:
        import cv2

        out = np.empty((len(crops), 3, self.input_size, self.input_size), dtype=np.float32)
        for i, c in enumerate(crops):
            rgb = c.rgb if c.rgb.shape[0] == self.input_size else \
                cv2.resize(c.rgb, (self.input_size, self.input_size), interpolation=cv2.INTER_AREA)
            out[i] = ((rgb.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
        return out

    def embed(self, crops: Sequence[Crop]) -> dict[str, np.ndarray]:
        import torch

        n = len(crops)
        glob = np.zeros((n, self.hidden), dtype=np.float32)
        patch = np.zeros((n, self.grid * self.grid, self.hidden), dtype=np.float32)
        with torch.inference_mode():
            for s in range(0, n, self.batch_size):
                batch = crops[s:s + self.batch_size]
                x = torch.from_numpy(self._pixels(batch)).to(self.device, dtype=self.dtype)
                hidden = self.model(pixel_values=x).last_hidden_state.float().cpu().numpy()
                glob[s:s + len(batch)] = hidden[:, 0]
                # Tokens after CLS are the patch grid, row-major (registers, if a model had them, come first).
                patch[s:s + len(batch)] = hidden[:, -self.grid * self.grid:]
        coverage = np.stack([patch_mask(c.mask, self.grid) for c in crops]) if n else np.zeros((0, self.grid ** 2))
        return {"global": normalise(glob), "patch": zero_background(normalise(patch), coverage)}
