"""Load FLUX.1-dev from a local diffusers folder (or a hub id, for users who are online) in bf16.

Why here and not inline: the weights folder layout is a user-facing contract
(``weights/FLUX.1-dev/model_index.json`` with its component folders), and a missing or partial
download must say exactly what to fetch, not surface as a diffusers stack trace.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import MissingWeightsError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-]+$")
COMPONENTS = ("transformer", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "vae", "scheduler")


def resolve_model(model: str, weights_dir: str | os.PathLike[str] | None) -> tuple[str, bool]:
    """(where to load from, is_local). A folder under ``weights_dir`` or an absolute path wins over a hub id."""
    candidates = [Path(os.path.expanduser(model))]
    if weights_dir:
        candidates.insert(0, Path(weights_dir) / model)
    for path in candidates:
        if (path / "model_index.json").is_file():
            missing = [c for c in COMPONENTS if not (path / c).is_dir()]
            if missing:
                from ..models.registry import fix_for, get

                raise MissingWeightsError(f"The FLUX folder {path} lacks {', '.join(missing)}.",
                                          fix_for(get("flux"), path))
            return str(path), True
    if _HUB_ID.match(model) and not os.path.isabs(model):
        return model, False
    from ..models.registry import fix_for, get

    raise MissingWeightsError(f"No FLUX pipeline at {candidates[0]} (no model_index.json).",
                              fix_for(get("flux"), candidates[0]))


def default_dtype(device: str) -> Any:
    """bf16 on GPUs that support it (what FLUX.1-dev was trained in); float32 on the CPU."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_pipeline(model: str, weights_dir: str | os.PathLike[str] | None = None, dtype: Any = None,
                  device: str = "cpu") -> Any:
    """A :class:`diffusers.FluxPipeline` on the CPU in ``dtype``; the memory plan places it afterwards."""
    from diffusers import FluxPipeline

    source, local = resolve_model(model, weights_dir)
    dtype = dtype or default_dtype(device)
    try:
        return FluxPipeline.from_pretrained(source, dtype=dtype, local_files_only=local)
    except OSError as exc:
        raise MissingWeightsError(f"Could not load FLUX from {source}: {exc}",
                                  "Check the download is complete; for a hub id, accept the FLUX.1-dev licence on "
                                  "huggingface.co and log in with `hf auth login`.") from None


def resolve_device(device: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``."""
    import torch

    if device in ("", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        from ..errors import ConfigError
        raise ConfigError("device.device is cuda but torch sees no GPU.",
                          "Install the CUDA build of torch in the worker's environment, or set device.device = auto.")
    return device
