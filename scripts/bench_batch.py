"""Batch throughput on Ray: rooms per hour and library assets per minute, with 1 and N local workers.

    .venv/bin/python scripts/bench_batch.py --library asset_data/starter_library [--rooms 8] [--workers 1,2]

Each configuration runs ``python -m core batch`` in a fresh output folder (a local Ray cluster of
that many CPUs): seeded generator rooms (bedroom / living room alternating) at the given render
size, and a library build of the library's first ``--assets`` assets into a fresh copy. Prints one
JSON object: per configuration the wall time, rooms/hour, assets/minute and the scaling ratio.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _batch(args: list[str]) -> tuple[dict, float]:
    env = dict(os.environ, RAY_AUTH_MODE=os.environ.get("RAY_AUTH_MODE", "disabled"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "core", "batch", *args, "--no-progress"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"batch failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout), seconds


def _library_subset(library: Path, dest: Path, count: int) -> Path:
    with open(library / "imaginarium_asset_info.csv", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, list(reader)[:count]
    for name in ("imaginarium_assets_internal_placement_space", "background_texture_dataset"):
        if (library / name).is_dir():
            shutil.copytree(library / name, dest / name)
    (dest / "imaginarium_assets").mkdir(parents=True)
    for row in rows:
        for f in (library / "imaginarium_assets").glob(f"{row['name_en']}.*"):
            shutil.copy(f, dest / "imaginarium_assets" / f.name)
    with open(dest / "imaginarium_asset_info.csv", "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--library", default=str(ROOT / "asset_data" / "starter_library"))
    p.add_argument("--rooms", type=int, default=8)
    p.add_argument("--assets", type=int, default=8)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--views", type=int, default=42)
    args = p.parse_args(argv)
    library = Path(args.library).resolve()
    results = {"machine": f"{os.cpu_count()} cores", "rooms": args.rooms, "render": f"{args.width}x{args.height}, "
               f"{args.samples} samples", "assets": args.assets, "views": args.views, "configs": {}}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        spec = Path(tmp) / "rooms.jsonl"
        spec.write_text("".join(json.dumps({"name": f"room_{i:04d}", "generator": {
            "room": ("bedroom", "living_room")[i % 2], "seed": i}}) + "\n" for i in range(args.rooms)))
        for workers in [int(w) for w in args.workers.split(",")]:
            rooms, rooms_s = _batch(["rooms", str(spec), "--out", str(Path(tmp) / f"rooms_{workers}"), "--library",
                                     str(library), "--workers", str(workers), "--width", str(args.width),
                                     "--height", str(args.height), "--samples", str(args.samples)])
            lib = _library_subset(library, Path(tmp) / f"lib_{workers}", args.assets)
            built, lib_s = _batch(["library", str(lib), "--workers", str(workers), "--views", str(args.views)])
            results["configs"][str(workers)] = {
                "rooms_done": rooms["done"], "rooms_wall_s": round(rooms_s, 1),
                "rooms_per_hour": round(3600 * rooms["done"] / rooms_s, 1),
                "assets_baked": built["baked"], "library_wall_s": round(lib_s, 1),
                "assets_per_minute": round(60 * built["baked"] / lib_s, 2)}
    configs = results["configs"]
    if len(configs) > 1:
        first, last = configs[min(configs, key=int)], configs[max(configs, key=int)]
        results["scaling"] = {"rooms": round(last["rooms_per_hour"] / first["rooms_per_hour"], 2),
                              "library": round(last["assets_per_minute"] / first["assets_per_minute"], 2)}
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
