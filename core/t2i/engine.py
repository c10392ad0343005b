"""A ready FLUX pipeline (LoRA fused, memory placed, speed-ups applied) and the generation loop.

Why an object: loading FLUX takes tens of seconds and compiling more, so the worker keeps one
engine warm and reuses it while the settings that shaped it (model, LoRA, memory mode, speed
options) stay the same. Generation runs one image per pipeline call with its own seed, so a
thumbnail the artist likes can be regenerated alone, and the per-step callback both reports
progress and raises between steps when the job is cancelled.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .lora import LoraInfo, load_lora
from .memory import MemoryPlan, apply_memory_plan, plan_memory
from .options import GenerationOptions
from .speed import SpeedOptions, apply_after_placement, apply_before_placement

StepCallback = Callable[[int, int, int], None]  # (image index, step done 1..steps, steps) — may raise to stop


@dataclass
class EngineConfig:
    """Everything that decides how the pipeline is built (the cache key of a warm engine)."""

    model: str = "FLUX.1-dev"
    weights_dir: str = "weights"
    lora: str = ""
    lora_scale: float = 1.0
    lora_alpha: float = 0.0
    lora_rank: int = 0
    device: str = "auto"
    memory_mode: str = "auto"
    vae_tiling: str = "auto"
    width: int = 1024
    height: int = 1024
    speed: SpeedOptions = field(default_factory=SpeedOptions)

    def key(self) -> str:
        data = asdict(self)
        data["speed"].pop("applied", None)
        data.pop("width"), data.pop("height")
        return json.dumps(data, sort_keys=True)


class T2IEngine:
    """Build once with :meth:`from_config` (or wrap an existing pipeline), then call :meth:`generate`."""

    def __init__(self, pipe: Any, config: EngineConfig, device: str, plan: MemoryPlan, lora: LoraInfo | None,
                 load_s: float) -> None:
        self.pipe = pipe
        self.config = config
        self.device = device
        self.plan = plan
        self.lora = lora
        self.load_s = load_s

    @classmethod
    def from_config(cls, config: EngineConfig, pipe: Any = None, log: Callable[[str], None] = lambda m: None,
                    free_bytes: int | None = None) -> "T2IEngine":
        """Load (unless ``pipe`` is given), fuse the LoRA, place the weights, apply speed options."""
        from .loading import load_pipeline, resolve_device

        t0 = time.perf_counter()
        device = resolve_device(config.device)
        if pipe is None:
            log(f"loading {config.model}")
            pipe = load_pipeline(config.model, config.weights_dir, device=device)
        lora = None
        if config.lora:
            path = Path(config.lora)
            if not path.is_absolute() and not path.exists():
                path = Path(config.weights_dir) / config.lora
            lora = load_lora(pipe, path, scale=config.lora_scale, alpha=config.lora_alpha,
                             expected_rank=config.lora_rank or None, fuse=True)
            log(f"LoRA {path.name}: rank {lora.rank}, {lora.modules} layers, fused")
        apply_before_placement(pipe, config.speed, device)
        plan = plan_memory(pipe, config.width, config.height, config.memory_mode, config.vae_tiling,
                           free_bytes=free_bytes, device=device)
        log(f"memory mode {plan.mode} (VAE tiling {'on' if plan.vae_tiling else 'off'}): {plan.reason}")
        apply_memory_plan(pipe, plan, device)
        apply_after_placement(pipe, config.speed)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, config, device, plan, lora, time.perf_counter() - t0)

    def settings_summary(self) -> dict[str, Any]:
        """What shaped the pixels besides the request (stored in PNG metadata)."""
        return {"model": self.config.model, "lora": asdict(self.lora) if self.lora else None,
                "memory_mode": self.plan.mode, "vae_tiling": self.plan.vae_tiling, "device": self.device,
                "speed": list(self.config.speed.applied), "dtype": str(self.pipe.transformer.dtype)}

    def generate(self, opts: GenerationOptions, on_step: StepCallback | None = None) -> list[Any]:
        """PIL images, one per seed. ``on_step`` runs after every denoising step and may raise to cancel."""
        import torch

        images = []
        for index, seed in enumerate(opts.seeds):
            def step_end(pipe: Any, i: int, t: Any, kwargs: dict[str, Any], _index: int = index) -> dict[str, Any]:
                if on_step is not None:
                    on_step(_index, i + 1, opts.steps)
                return kwargs

            generator = torch.Generator(device="cpu").manual_seed(seed)
            out = self.pipe(opts.full_prompt, width=opts.width, height=opts.height, num_inference_steps=opts.steps,
                            guidance_scale=opts.guidance, generator=generator,
                            max_sequence_length=opts.max_sequence_length, callback_on_step_end=step_end,
                            output_type="pil")
            images.append(out.images[0])
        return images


def save_png(image: Any, path: Path, opts: GenerationOptions, seed: int, settings: dict[str, Any]) -> Path:
    """Write the image with the prompt and every setting in PNG text chunks (readable by any PNG tool)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    meta = {**opts.metadata(), "seed": seed, "settings": settings}
    info.add_text("prompt", opts.full_prompt)
    info.add_text("imaginarium:t2i", json.dumps(meta, ensure_ascii=False, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    image.save(tmp, pnginfo=info)
    tmp.replace(path)
    return path


def read_png_metadata(path: Path) -> dict[str, Any]:
    """The ``imaginarium:t2i`` record written by :func:`save_png` (for the panel and tests)."""
    from PIL import Image

    with Image.open(path) as im:
        text = im.text.get("imaginarium:t2i")  # type: ignore[attr-defined]
    return json.loads(text) if text else {}
