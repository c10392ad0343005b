#!/usr/bin/env python
"""Seconds per image and peak GPU memory of our FLUX pipeline, per memory mode and speed option; JSON on stdout.

Each configuration runs in a fresh process (so peak memory and compile caches are honest), built
through the same code the worker uses (``core.t2i.engine``). When no real FLUX.1-dev folder is
given, the full-size architecture (12B transformer, T5-XXL, CLIP-L, 16-channel VAE) is built with
random bf16 weights — the result says so; speed and memory are those of the real model, the
pictures are noise.

A configuration is ``MODE[+OPTION...]``: MODE one of gpu, model_cpu_offload, group_offload,
sequential_cpu_offload; OPTIONS fuse_qkv, compile, compile_max (max-autotune-no-cudagraphs), cudnn
(attention backend _native_cudnn), fp8 (FP8 weight storage).

    python scripts/bench_t2i.py --configs gpu,gpu+fuse_qkv+compile --steps 28,50 > bench.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

PROMPT = "A cozy living room featuring comfortable armchairs, a gallery wall, and a stylish coffee table."


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_config(name: str):
    from imaginarium.core.t2i.speed import SpeedOptions

    mode, *opts = name.split("+")
    unknown = set(opts) - {"fuse_qkv", "compile", "compile_max", "cudnn", "fp8"}
    if unknown:
        raise SystemExit(f"unknown option(s) {sorted(unknown)} in {name!r}")
    speed = SpeedOptions(fuse_qkv="fuse_qkv" in opts, fp8="fp8" in opts,
                         compile="compile" in opts or "compile_max" in opts,
                         compile_mode="max-autotune-no-cudagraphs" if "compile_max" in opts else "default",
                         attention_backend="_native_cudnn" if "cudnn" in opts else "",
                         cache_dir=os.environ.get("BENCH_COMPILE_CACHE", str(Path.home() / ".cache/imaginarium/inductor")))
    return mode, speed


def run_one(args: argparse.Namespace) -> dict:
    """One configuration in this process."""
    import torch

    from imaginarium.core.t2i.engine import EngineConfig, T2IEngine
    from imaginarium.core.t2i.options import GenerationOptions

    mode, speed = parse_config(args.single)
    device = args.device
    result: dict = {"config": args.single, "gpu": torch.cuda.get_device_name() if device == "cuda" else "cpu",
                    "torch": torch.__version__, "width": args.width, "height": args.height}
    t0 = time.perf_counter()
    pipe = None
    real = bool(args.model) and (Path(args.model) / "model_index.json").is_file()
    if not real:
        from imaginarium.testkit.random_models import build_random_flux

        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        pipe = build_random_flux(args.size, device=device, dtype=dtype)
        if mode != "gpu":
            pipe.to("cpu")  # offload modes start from CPU-resident weights, as after a real load
            torch.cuda.empty_cache()
    result["weights"] = "real" if real else f"random ({args.size}-size architecture, random weights)"
    result["build_s"] = round(time.perf_counter() - t0, 2)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t1 = time.perf_counter()
    config = EngineConfig(model=args.model or "random", device=device, memory_mode=mode, width=args.width,
                          height=args.height, speed=speed, vae_tiling=args.vae_tiling)
    engine = T2IEngine.from_config(config, pipe=pipe, log=log)
    result.update(memory_mode=engine.plan.mode, vae_tiling=engine.plan.vae_tiling, applied=list(speed.applied),
                  prepare_s=round(time.perf_counter() - t1, 2))

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    def call(steps: int, per_step: bool = False) -> tuple[float, list[float]]:
        stamps: list[float] = []

        def on_step(_i: int, _s: int, _n: int) -> None:
            if per_step:
                sync()
                stamps.append(time.perf_counter())

        opts = GenerationOptions(prompt=PROMPT, width=args.width, height=args.height, steps=steps, seed=1)
        sync()
        start = time.perf_counter()
        engine.generate(opts, on_step=on_step)
        sync()
        total = time.perf_counter() - start
        return total, [b - a for a, b in zip(stamps, stamps[1:])]

    main_steps = args.steps[0]
    slow = mode in ("group_offload", "sequential_cpu_offload")
    warm_steps = args.slow_steps if slow else main_steps
    first, _ = call(warm_steps)  # warm-up: kernels, allocator, compilation (timed: it is the first-image cost)
    result["first_call_s"] = round(first, 2)
    log(f"{args.single}: first call {first:.1f} s ({warm_steps} steps)")
    total, deltas = call(args.slow_steps if slow else main_steps, per_step=True)
    result["step_s_median"] = round(statistics.median(deltas), 4)
    result["step_s_min"] = round(min(deltas), 4)
    if slow:
        overhead = total - sum(deltas) - result["step_s_median"]
        result[f"image_s_{main_steps}_estimated"] = round(overhead + main_steps * result["step_s_median"], 2)
        result["note"] = f"per-step from a {args.slow_steps}-step run; image time estimated"
    else:
        for steps in args.steps:
            runs = [call(steps)[0] for _ in range(args.repeats)]
            result[f"image_s_{steps}"] = round(statistics.median(runs), 3)
            log(f"{args.single}: {steps} steps {runs}")
        result["compile_overhead_s"] = round(first - result[f"image_s_{main_steps}"], 1) if speed.compile else 0.0
    if device == "cuda":
        result["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
        result["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / 2 ** 30, 2)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="gpu,gpu+fuse_qkv,gpu+fuse_qkv+compile,model_cpu_offload,group_offload")
    ap.add_argument("--model", default="", help="a FLUX.1-dev diffusers folder; empty = random full-size weights")
    ap.add_argument("--size", default="full", choices=("full", "tiny"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=1024)
    ap.add_argument("--steps", default="28,50", help="step counts for whole-image timings; the first is the main")
    ap.add_argument("--slow-steps", type=int, default=4, help="steps run in slow offload modes")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--vae-tiling", default="auto")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per configuration")
    ap.add_argument("--out", default="", help="also append each result as a JSON line to this file")
    ap.add_argument("--single", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.steps = [int(s) for s in str(args.steps).split(",") if s]
    if args.single:
        print("BENCH_RESULT " + json.dumps(run_one(args)), flush=True)
        return 0
    results = []
    for name in [c for c in args.configs.split(",") if c]:
        cmd = [sys.executable, __file__, "--single", name] + [a for a in (argv or sys.argv[1:])]
        log(f"running {name}")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
            res = json.loads(lines[-1][13:]) if lines else {"config": name, "error": proc.stderr[-1500:]}
        except subprocess.TimeoutExpired:
            res = {"config": name, "error": f"timed out after {args.timeout} s"}
        results.append(res)
        log(json.dumps(res))
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(res) + "\n")
    print(json.dumps({"prompt": PROMPT, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
