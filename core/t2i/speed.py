"""Opt-in speed-ups for the FLUX transformer: fused QKV, FP8 weight storage, attention backend, regional compile.

Why opt-in: each trades something. Fused QKV projections (one GEMM instead of three) must come
after the LoRA is fused, and cannot be undone without reloading. FP8 weight storage halves the
transformer's memory (so model offload fits a 24 GB card) at a small cost in fidelity and speed,
because each layer is up-cast to bf16 when it runs. ``torch.compile`` of the *repeated* transformer
blocks only (diffusers' ``compile_repeated_blocks``: one compiled graph per block class, shared by
all 19 + 38 instances) takes seconds to tens of seconds instead of minutes for the whole model,
and Inductor's on-disk caches (FX graph and AOTAutograd caches, in ``cache_dir``) let the next
process skip most of that work.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

COMPILE_MODES = ("default", "max-autotune-no-cudagraphs", "max-autotune", "reduce-overhead")


@dataclass
class SpeedOptions:
    fuse_qkv: bool = False
    fp8: bool = False
    compile: bool = False
    compile_mode: str = "default"
    attention_backend: str = ""
    cache_dir: str = ""
    applied: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.fp8 and self.compile:
            raise ConfigError("t2i.fp8 and t2i.compile cannot be combined: FP8 storage up-casts each layer in a "
                              "Python hook that torch.compile cannot trace (measured: the compile fails).",
                              "Turn one of them off: compile for speed on big GPUs, fp8 to fit a 24 GB GPU.")
        if self.compile_mode not in COMPILE_MODES:
            raise ConfigError(f"t2i.compile_mode = {self.compile_mode!r} is not supported.",
                              f"Use one of: {', '.join(COMPILE_MODES)}.")


def fp8_supported(device: str) -> bool:
    """FP8 storage needs torch's float8 dtypes; any CUDA GPU can then up-cast per layer."""
    import torch

    return hasattr(torch, "float8_e4m3fn") and device.startswith("cuda")


def set_compile_cache(cache_dir: str) -> None:
    """Point Inductor's caches at a lasting folder so a later run reuses compiled kernels and graphs."""
    if not cache_dir:
        return
    path = Path(os.path.expanduser(cache_dir))
    path.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(path)
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")


def apply_before_placement(pipe: Any, opts: SpeedOptions, device: str) -> None:
    """Steps that change the weights themselves; run after LoRA fusing, before memory placement."""
    import torch

    if opts.fuse_qkv:
        pipe.transformer.fuse_qkv_projections()
        _drop_unfused_projections(pipe.transformer)
        opts.applied.append("fuse_qkv")
    if opts.fp8:
        if not fp8_supported(device):
            raise ConfigError(f"FP8 weights need a CUDA GPU and torch float8 support (device is {device}).",
                              "Turn t2i.fp8 off on this machine.")
        pipe.transformer.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=torch.bfloat16)
        opts.applied.append("fp8_storage")


def apply_after_placement(pipe: Any, opts: SpeedOptions) -> None:
    """Attention backend and compilation act on the placed model."""
    if opts.attention_backend:
        try:
            pipe.transformer.set_attention_backend(opts.attention_backend)
        except Exception as exc:  # unknown name, or a backend whose package is missing
            raise ConfigError(f"Attention backend {opts.attention_backend!r} is not usable here: {exc}",
                              "Clear t2i.attention_backend (uses PyTorch SDPA) or pick e.g. _native_cudnn.") from None
        opts.applied.append(f"attention:{opts.attention_backend}")
    if opts.compile:
        set_compile_cache(opts.cache_dir)
        pipe.transformer.compile_repeated_blocks(fullgraph=True, mode=None if opts.compile_mode == "default"
                                                 else opts.compile_mode)
        opts.applied.append(f"compile:{opts.compile_mode}")


_SEPARATE = ("to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj")


def _drop_unfused_projections(transformer: Any) -> int:
    """Free the separate q/k/v matrices that fusing copied (diffusers keeps both: +4 GiB on FLUX.1-dev).

    The fused attention path reads only ``to_qkv``/``to_added_qkv``, so the originals are dead weight.
    The price: ``unfuse_qkv_projections`` is no longer possible (reload the pipeline instead).
    """
    dropped = 0
    for module in transformer.modules():
        if not getattr(module, "fused_projections", False):
            continue
        for name in _SEPARATE:
            fused = "to_added_qkv" if name.startswith("add_") else "to_qkv"
            if name in module._modules and fused in module._modules:
                del module._modules[name]
                dropped += 1
    return dropped
