"""Benchmarks for the asset library; prints one JSON object on stdout.

    .venv/bin/python scripts/bench_library.py [--assets 8] [--views 162] [--resolution 224] [--workers 1]

Measures, on this machine: the starter-library generator (all assets), the derived-data
build of ``--assets`` starter assets at the given settings (seconds per asset, steady state
and including the session start; bytes per asset), an incremental no-op rebuild, and the
store at scale: a synthetic store of ``--synthetic`` assets × views with one feature kind
(commit time, open time, one cosine-similarity pass over every row, files opened).
Targets from the issue: ≤ 2 s per asset (162 views at 224²) and ≤ 10 MB per asset.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

from imaginarium.core.library.store import FeatureStore, asset_dir_name  # noqa: E402


def run(args: list[str]) -> tuple[dict, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1]), time.perf_counter() - t0


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def synthetic_store(root: Path, n_assets: int, views: int, dim: int) -> dict:
    """A store the size of the published library, written through the real commit path."""
    rng = np.random.default_rng(0)
    store = FeatureStore.open_or_create(root, {"views": views, "resolution": 224, "fov_deg": 40.0})
    order = []
    pose = np.tile(np.eye(4, dtype=np.float32), (views, 1, 1))
    for i in range(n_assets):
        asset_id, digest = str(i), f"{i:064x}"
        folder = root / asset_dir_name(asset_id, digest)
        folder.mkdir(parents=True)
        np.save(folder / "poses.npy", pose)
        (folder / "meta.json").write_text(json.dumps({"id": asset_id, "hash": digest, "n_views": views}))
        order.append((asset_id, digest))
    t0 = time.perf_counter()
    store.commit(order)
    commit_assets_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for asset_id, _ in order:
        store.put_features("bench", asset_id, rng.standard_normal((views, dim), dtype=np.float32))
    put_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.commit()
    commit_features_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    opened = FeatureStore.open(root)
    feats = opened.features("bench")
    open_s = time.perf_counter() - t0
    query = rng.standard_normal(dim).astype(np.float16)
    t0 = time.perf_counter()
    best = np.empty(len(feats), np.float32)
    for start in range(0, len(feats), 65536):  # stream through the memmap in blocks
        block = np.asarray(feats[start:start + 65536], dtype=np.float32)
        best[start:start + len(block)] = block @ query.astype(np.float32) / np.linalg.norm(block, axis=1)
    top_asset = int(opened.row_asset_index()[int(np.argmax(best))])
    scan_s = time.perf_counter() - t0
    return {"assets": n_assets, "rows": len(feats), "dim": dim, "feature_bytes": os.path.getsize(root / opened._index["kinds"]["bench"]["file"]),
            "commit_assets_s": round(commit_assets_s, 3), "put_features_s": round(put_s, 3),
            "commit_features_s": round(commit_features_s, 3), "open_s": round(open_s, 4),
            "cosine_scan_all_rows_s": round(scan_s, 3), "files_opened_for_scan": 2, "top_asset": top_asset}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assets", type=int, default=8)
    p.add_argument("--views", type=int, default=162)
    p.add_argument("--resolution", type=int, default=224)
    p.add_argument("--engine", default="workbench", choices=("workbench", "cycles"))
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="As build_library.py.")
    p.add_argument("--synthetic", type=int, default=2000, help="Assets in the synthetic store (0 = skip).")
    p.add_argument("--synthetic-dim", type=int, default=256)
    args = p.parse_args()
    out: dict = {"machine_cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-library-") as tmp:
        lib = Path(tmp) / "starter"
        gen, gen_wall = run([str(ROOT / "scripts" / "make_starter_library.py"), "--out", str(lib), "--seed", "0"])
        out["generator"] = {"assets": gen["assets"], "classes": gen["classes"], "textures": gen["textures"],
                            "seconds_in_script": gen["seconds"], "seconds_wall": round(gen_wall, 2)}
        from imaginarium.core.library.catalogue import load_catalogue

        ids = sorted(load_catalogue(lib).assets, key=int)[: args.assets]
        common = [str(ROOT / "scripts" / "build_library.py"), "--library", str(lib), "--views", str(args.views),
                  "--resolution", str(args.resolution), "--engine", args.engine, "--workers", str(args.workers),
                  "--only", ",".join(ids)]
        build, wall = run(common)
        store = FeatureStore.open(lib / "derived")
        sizes = [folder_bytes(lib / "derived" / store.asset_info(a)["dir"]) for a in store.asset_ids()]
        out["build"] = {"assets": build["rendered"], "views": args.views, "resolution": args.resolution,
                        "engine": args.engine, "workers": args.workers, "seconds_wall": round(wall, 2),
                        "seconds_per_asset_including_start": round(wall / max(1, build["rendered"]), 3),
                        "median_asset_s": build["median_asset_s"],
                        "mb_per_asset_mean": round(float(np.mean(sizes)) / 1e6, 3),
                        "mb_per_asset_max": round(float(np.max(sizes)) / 1e6, 3),
                        "target_s_per_asset": 2.0, "target_mb_per_asset": 10.0,
                        "meets_time_target": (build["median_asset_s"] or 1e9) <= 2.0,
                        "meets_size_target": max(sizes) <= 10e6}
        again, wall2 = run(common)
        out["noop_rebuild"] = {"rendered": again["rendered"], "seconds_wall": round(wall2, 2)}
        if args.synthetic:
            out["store_at_scale"] = synthetic_store(Path(tmp) / "synthetic", args.synthetic, args.views,
                                                    args.synthetic_dim)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
