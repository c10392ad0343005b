"""Worker op ``generate_images``: prompt → PNG files in a run folder, with per-step progress and cancel.

Params (all optional except ``prompt``; defaults come from the ``[t2i]`` settings):
``prompt``, ``template``, ``n_images``, ``seed``, ``width``, ``height``, ``steps``, ``guidance``,
``model``, ``lora`` (path or "" for none), ``lora_scale``, ``memory_mode``, ``fuse_qkv``, ``compile``,
``fp8``, ``run_dir`` (where to write; default ``<runs_dir>/t2i/<time>-<hash>``), ``config`` (a TOML path).
Result: ``{"images": [paths], "run_dir", "seeds", "memory_mode", "lora", "seconds"}``.

The engine stays loaded between jobs while the settings that shaped it are unchanged, because
loading and compiling FLUX dwarfs one image's time.
"""
from __future__ import annotations

import gc
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import BadInputError
from ..worker.context import JobContext
from .engine import EngineConfig, T2IEngine, save_png
from .options import GenerationOptions, normalise_memory_mode
from .speed import SpeedOptions

_ENGINE: T2IEngine | None = None


def _bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) and str(value).lower() in ("0", "1", "true", "false", "yes", "no"):
        return str(value).lower() in ("1", "true", "yes")
    raise BadInputError(f"{name} = {value!r} is not true/false.", f"Pass {name} as a boolean.")


def engine_config(params: dict[str, Any], settings: Settings) -> EngineConfig:
    """Settings first, request params on top; relative folders are taken from the working directory."""
    t = settings.t2i
    speed = SpeedOptions(fuse_qkv=_bool(params, "fuse_qkv", t.fuse_qkv), fp8=_bool(params, "fp8", t.fp8),
                         compile=_bool(params, "compile", t.compile),
                         compile_mode=str(params.get("compile_mode", t.compile_mode)),
                         attention_backend=str(params.get("attention_backend", t.attention_backend)),
                         cache_dir=str(params.get("compile_cache_dir", t.compile_cache_dir)))
    return EngineConfig(model=str(params.get("model", t.model)), weights_dir=settings.paths.weights_dir,
                        lora=str(params.get("lora", t.lora)), lora_scale=float(params.get("lora_scale", t.lora_scale)),
                        lora_alpha=float(params.get("lora_alpha", t.lora_alpha)),
                        lora_rank=int(params.get("lora_rank", t.lora_rank)),
                        device=str(params.get("device", settings.device.device)),
                        memory_mode=normalise_memory_mode(str(params.get("memory_mode", settings.device.memory_mode))),
                        vae_tiling=str(params.get("vae_tiling", t.vae_tiling)),
                        width=int(params.get("width", t.width)), height=int(params.get("height", t.height)),
                        speed=speed)


def get_engine(config: EngineConfig, ctx: JobContext) -> T2IEngine:
    """The warm engine if it was built with the same config, else a fresh one (the old one is freed first)."""
    global _ENGINE
    if _ENGINE is not None and _ENGINE.config.key() == config.key():
        return _ENGINE
    if _ENGINE is not None:
        _ENGINE = None
        gc.collect()
        try:
            import torch
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass
    _ENGINE = T2IEngine.from_config(config, log=ctx.log)
    return _ENGINE


def generate_images(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """The op: validate, load (or reuse) the engine, generate with progress per step, save PNGs."""
    if not isinstance(params, dict):
        raise BadInputError(f"generate_images params must be an object, got {type(params).__name__}.")
    settings = Settings.load(params.get("config") or None)
    t = settings.t2i
    defaults = {"template": t.template, "n_images": t.n_images, "seed": t.seed, "width": t.width,
                "height": t.height, "steps": t.steps, "guidance": t.guidance}
    opts = GenerationOptions.from_params(params, defaults)
    try:
        config = engine_config(params, settings)
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"A generate_images setting has the wrong type: {exc}.",
                            "Pass numbers for lora_scale, lora_alpha, lora_rank, width and height.") from None
    config.width, config.height = opts.width, opts.height
    ctx.check_cancelled()
    t0 = time.perf_counter()
    engine = get_engine(config, ctx)
    ctx.check_cancelled()
    summary = engine.settings_summary()
    run_dir = Path(params.get("run_dir") or _default_run_dir(settings, opts, summary))
    run_dir.mkdir(parents=True, exist_ok=True)
    total = opts.n_images * opts.steps

    def on_step(index: int, step: int, steps: int) -> None:
        ctx.progress((index * steps + step) / total, f"image {index + 1}/{opts.n_images}, step {step}/{steps}")

    paths = []
    for index, seed in enumerate(opts.seeds):
        one = GenerationOptions(**{**_fields(opts), "n_images": 1, "seed": seed})
        image = engine.generate(one, on_step=lambda _i, s, n, _k=index: on_step(_k, s, n))[0]
        paths.append(str(save_png(image, run_dir / f"image_{index:02d}_seed{seed}.png", opts, seed, summary)))
    (run_dir / "t2i.json").write_text(json.dumps({"options": opts.metadata(), "settings": summary,
                                                  "images": paths}, indent=2), encoding="utf-8")
    return {"images": paths, "run_dir": str(run_dir), "seeds": opts.seeds, "memory_mode": engine.plan.mode,
            "lora": summary["lora"], "seconds": round(time.perf_counter() - t0, 3)}


def _fields(opts: GenerationOptions) -> dict[str, Any]:
    return {k: getattr(opts, k) for k in ("prompt", "template", "n_images", "seed", "width", "height", "steps",
                                          "guidance", "max_sequence_length")}


def _default_run_dir(settings: Settings, opts: GenerationOptions, summary: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps([opts.metadata(), summary], sort_keys=True, default=str).encode()).hexdigest()
    return Path(settings.paths.runs_dir) / "t2i" / f"{time.strftime('%Y%m%d-%H%M%S')}-{digest[:8]}"
