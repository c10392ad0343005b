"""Where the pipeline's weights live during generation: all on the GPU, or offloaded to the CPU.

Why a choice: FLUX.1-dev is ~12B transformer + ~4.7B T5 parameters, about 31 GiB in bf16. An
80 GB card holds everything (fastest); a 40-48 GB card holds the transformer while the text
encoders wait on the CPU (``model_cpu_offload``); a 24 GB card cannot hold even the bf16
transformer, so its weights stream in from pinned CPU memory block by block on a side CUDA stream,
overlapping the copies with compute (``group_offload``). ``sequential_cpu_offload`` moves one
layer at a time, synchronously: the smallest footprint and the slowest.

``encoders_offload`` keeps the transformer and VAE on the GPU and streams only the text encoders
from pinned memory; measured on an H100 it is several times faster than diffusers'
``model_cpu_offload`` (which copies whole models from pageable memory on every call), so ``auto``
prefers it; with FP8 weight storage (``t2i.fp8``) it fits a 24 GB card. ``model_cpu_offload``
stays available as an override. ``auto`` picks the
fastest mode whose estimate fits in the free memory measured now; the estimate uses the real
parameter sizes of the loaded pipeline, so FP8 weight storage (half the transformer) counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .options import normalise_memory_mode

GIB = 1024 ** 3


@dataclass
class MemoryPlan:
    mode: str
    vae_tiling: bool
    free_bytes: int
    reason: str


def module_bytes(module: Any) -> int:
    """Bytes of a module's parameters and buffers as they are stored now (fp8 storage counts as 1 byte)."""
    if module is None:
        return 0
    return sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers()))


def activation_headroom(width: int, height: int, n_batch: int = 1) -> int:
    """Working memory beyond the weights: ~4.5 GiB at 1024² batch 1, growing with the number of pixels.

    Measured on an H100 at 1024² (docs/benchmarks.md): peak allocated minus weights was 2.7 GiB with
    everything on the GPU and ~5 GiB with FP8 storage (each layer is up-cast while it runs).
    """
    return int((2.5 + 2.0 * (width * height * n_batch) / (1024 * 1024)) * GIB)


def plan_memory(pipe: Any, width: int, height: int, mode: str = "auto", vae_tiling: str = "auto",
                free_bytes: int | None = None, device: str = "cuda") -> MemoryPlan:
    """Choose the mode (unless forced) and whether to tile the VAE, from free GPU memory."""
    mode = normalise_memory_mode(mode)
    if free_bytes is None:
        free_bytes = _free_gpu_bytes() if device.startswith("cuda") else 0
    components = [getattr(pipe, n, None) for n in ("transformer", "text_encoder", "text_encoder_2", "vae")]
    total = sum(module_bytes(m) for m in components)
    largest = max(module_bytes(m) for m in components)
    resident = module_bytes(components[0]) + module_bytes(components[3])
    need = activation_headroom(width, height)
    if not device.startswith("cuda"):
        chosen, reason = "gpu", f"device {device}: everything stays on it"
    elif mode != "auto":
        chosen, reason = mode, "chosen in settings"
    elif free_bytes >= total + need:
        chosen, reason = "gpu", f"{free_bytes / GIB:.1f} GiB free ≥ {(total + need) / GIB:.1f} GiB for all weights"
    elif free_bytes >= resident + need:
        chosen, reason = "encoders_offload", (f"{free_bytes / GIB:.1f} GiB free holds the transformer and VAE "
                                              f"({resident / GIB:.1f} GiB) but not all ({total / GIB:.1f} GiB)")
    elif free_bytes >= need + 2 * GIB:
        chosen, reason = "group_offload", (f"{free_bytes / GIB:.1f} GiB free is less than the transformer "
                                           f"({largest / GIB:.1f} GiB): stream its blocks from the CPU")
    else:
        chosen, reason = "sequential_cpu_offload", f"only {free_bytes / GIB:.1f} GiB free"
    tiling = vae_tiling.lower()
    if tiling not in ("auto", "on", "off"):
        from ..errors import ConfigError
        raise ConfigError(f"t2i.vae_tiling = {vae_tiling!r} is not auto, on or off.", "Use auto, on or off.")
    tile = (tiling == "on") or (tiling == "auto" and device.startswith("cuda") and (
        chosen in ("group_offload", "sequential_cpu_offload") or width * height > 2 * 1024 * 1024))
    return MemoryPlan(mode=chosen, vae_tiling=tile, free_bytes=int(free_bytes), reason=reason)


def apply_memory_plan(pipe: Any, plan: MemoryPlan, device: str) -> None:
    """Move weights or install offload hooks as the plan says (call once, after LoRA fusing)."""
    import torch

    if plan.mode == "gpu":
        pipe.to(device)
    elif plan.mode == "encoders_offload":
        pipe.transformer.to(device)
        pipe.vae.to(device)
        for name in ("text_encoder", "text_encoder_2"):
            _leaf_offload(getattr(pipe, name), torch.device(device))
    elif plan.mode == "model_cpu_offload":
        pipe.enable_model_cpu_offload(device=device)
    elif plan.mode == "group_offload":
        dev = torch.device(device)
        pipe.transformer.enable_group_offload(onload_device=dev, offload_device=torch.device("cpu"),
                                              offload_type="block_level", num_blocks_per_group=1, use_stream=True)
        for name in ("text_encoder", "text_encoder_2", "vae"):
            _leaf_offload(getattr(pipe, name), dev)
    elif plan.mode == "sequential_cpu_offload":
        pipe.enable_sequential_cpu_offload(device=device)
    if plan.vae_tiling:
        pipe.vae.enable_tiling()
    else:
        pipe.vae.disable_tiling()


def _leaf_offload(module: Any, device: Any) -> None:
    """Group offloading for non-diffusers models (the transformers text encoders)."""
    import torch
    from diffusers.hooks import apply_group_offloading

    apply_group_offloading(module, onload_device=device, offload_device=torch.device("cpu"),
                           offload_type="leaf_level", use_stream=True)


def _free_gpu_bytes() -> int:
    import torch

    if not torch.cuda.is_available():
        return 0
    free, _total = torch.cuda.mem_get_info()
    return int(free)
