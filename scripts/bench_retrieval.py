"""Retrieval speed per object, printed as JSON.

1. ``synthetic``: a store of N assets × V views with DINOv2 ViT-L feature sizes (1024-d global,
   16×16 patches × 1024-d at 224²), float16 memory maps on disk like the real store. Times the
   ranking of one object (global similarity over its candidates + mutual-NN patch matching of
   the re-ranked ones + size + class) and the pose step, with the candidates of one class
   (N / classes assets) and with every asset a candidate. Target: ≤ 200 ms on CPU.
2. ``starter``: when the starter library has a built store, a private copy of it is embedded
   (time reported) and its own template renders are used as queries (a self-retrieval
   check): query embedding, ranking and pose time per object.

The query embedding (one DINOv2 forward) is not part of the retrieval time; it is reported
separately where measured. Usage: ``python scripts/bench_retrieval.py [--assets 2000] [--device cuda]``
(``--device cuda`` keeps the synthetic store's features on the GPU: the ≤ 20 ms target).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

from imaginarium.core.config import RetrievalSettings, Settings  # noqa: E402
from imaginarium.core.matching.embedders import normalise  # noqa: E402
from imaginarium.core.matching.index import TemplateIndex  # noqa: E402
from imaginarium.core.matching.pose import estimate_pose  # noqa: E402
from imaginarium.core.matching.retrieval import Query, Retriever  # noqa: E402
from imaginarium.core.schema import AssetRecord, Box3D, Camera  # noqa: E402


def synthetic_index(folder: Path, assets: int, views: int, dim: int, grid: int, seed: int = 0) -> TemplateIndex:
    """Random unit features written to float16 memory maps (the store's on-disk form), chunk by chunk."""
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    n = assets * views
    glob = np.lib.format.open_memmap(folder / "global.npy", mode="w+", dtype=np.float16, shape=(n, dim))
    patch = np.lib.format.open_memmap(folder / "patch.npy", mode="w+", dtype=np.float16, shape=(n, grid * grid, dim))
    chunk = 64
    for s in tqdm(range(0, n, chunk), desc="synthetic store", unit="chunk", file=sys.stderr):
        e = min(n, s + chunk)
        glob[s:e] = normalise(rng.standard_normal((e - s, dim), dtype=np.float32))
        p = normalise(rng.standard_normal((e - s, grid * grid, dim), dtype=np.float32))
        p[:, : grid * 6] = 0.0  # background patches (~40 %), as in real template renders
        patch[s:e] = p
    glob.flush()
    patch.flush()
    del glob, patch
    glob = np.load(folder / "global.npy", mmap_mode="r")
    patch = np.load(folder / "patch.npy", mmap_mode="r")
    poses = np.zeros((n, 4, 4), np.float32)
    az = np.tile(np.radians([-90.0, -45.0, -135.0][:views] + [0.0] * max(0, views - 3)), assets)
    poses[:, 0, 3], poses[:, 1, 3], poses[:, 2, 3], poses[:, 3, 3] = 3 * np.cos(az), 3 * np.sin(az), 1.0, 1.0
    return TemplateIndex([f"asset_{i:05d}" for i in range(assets)], np.repeat(np.arange(assets), views).astype(np.int32),
                         glob, patch, poses, grid)


def time_queries(retriever: Retriever, index: TemplateIndex, queries: list[Query], repeats: int) -> dict[str, float]:
    cam = Camera(500.0, 500.0, 112.0, 112.0, 224, 224, [[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 1.2], [0, 0, 0, 1]])
    rank_t, pose_t = [], []
    for _ in range(repeats):
        for q in queries:
            t0 = time.perf_counter()
            ranked = retriever.rank_group([q])[0]
            t1 = time.perf_counter()
            estimate_pose(index, ranked[0].asset_id, cam, q.glob, q.patch, box=Box3D((0, 3, 0.4), q.box_size, 0.0),
                          mirrored=(q.glob, q.patch[::-1].copy()), asset_size=tuple(q.box_size))
            t2 = time.perf_counter()
            rank_t.append(t1 - t0)
            pose_t.append(t2 - t1)
    return {"rank_ms_median": round(1000 * float(np.median(rank_t)), 2),
            "rank_ms_p90": round(1000 * float(np.percentile(rank_t, 90)), 2),
            "pose_ms_median": round(1000 * float(np.median(pose_t)), 2),
            "per_object_ms_median": round(1000 * float(np.median(np.add(rank_t, pose_t))), 2)}


def bench_synthetic(assets: int, views: int, classes: int, repeats: int, folder: Path | None,
                    device: str = "numpy") -> dict:
    dim, grid = 1024, 16
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        t0 = time.perf_counter()
        index = synthetic_index(Path(tmp), assets, views, dim, grid)
        build_s = time.perf_counter() - t0
        if device != "numpy":
            index.to_device(device)   # torch tensors on the device (float16 on CUDA)
        rng = np.random.default_rng(1)
        records = {}
        for i, a in enumerate(index.asset_ids):
            size = tuple(float(x) for x in rng.uniform(0.3, 2.0, 3))
            records[a] = AssetRecord(a, a, f"class_{i % classes}", f"class_{i % classes}", size)
        settings = RetrievalSettings()
        queries = []
        for i in range(8):
            p = normalise(rng.standard_normal((grid * grid, dim), dtype=np.float32))
            p[: grid * 6] = 0.0
            queries.append(Query(f"o{i}", f"class_{i % classes}", normalise(rng.standard_normal(dim, dtype=np.float32)),
                                 p, rng.uniform(0.3, 2.0, 3)))
        one_class = Retriever(index, records, lambda label: [label], settings)
        every = Retriever(index, records, lambda label: [f"class_{k}" for k in range(classes)], settings)
        time_queries(one_class, index, queries[:2], 1)  # warm the page cache and allocator
        return {"assets": assets, "views": views, "device": device,
                "feature": {"global": [dim], "patch": [grid * grid, dim]},
                "store_gib": round(index.patch.nbytes / 2 ** 30 + index.glob.nbytes / 2 ** 30, 2),
                "build_s": round(build_s, 1), "rerank_assets": settings.rerank_assets,
                "candidates_one_class": time_queries(one_class, index, queries, repeats) | {"candidates": assets // classes},
                "candidates_all": time_queries(every, index, queries, repeats) | {"candidates": assets}}


def _private_copy(library: Path, dest: Path) -> Path:
    """The catalogue and store copied (assets and textures linked): embedding writes into the copy only."""
    import shutil

    out = dest / "starter_copy"
    out.mkdir(parents=True, exist_ok=True)
    for item in library.iterdir():
        target = out / item.name
        if item.name == "derived":
            shutil.copytree(item, target)
        elif item.is_file():
            shutil.copy2(item, target)
        else:
            target.symlink_to(item.resolve())
    return out


def bench_starter(library: Path, limit: int, embedder_name: str, folder: Path | None) -> dict:
    """Self-retrieval on the starter library's own template renders, on a private copy of its store.

    Queries are template renders (one per asset, a view near 20° elevation), so this is a
    speed measurement with a sanity check, not an accuracy figure.
    """
    from tqdm import tqdm

    from imaginarium.core.matching import store_access
    from imaginarium.core.matching.crops import crop_from_rgba, read_rgba
    from imaginarium.core.matching.embed_library import embed_library, missing_assets
    from imaginarium.core.matching.embedders import load_embedder

    if not (library / "derived" / "index.json").is_file():
        return {"skipped": f"no built store under {library}/derived"}
    settings = Settings()
    settings.retrieval.embedder = embedder_name
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        lib = _private_copy(library, Path(tmp))
        store = store_access.open_store(lib)
        assets, _ = store_access.load_assets(lib)
        embedder, notes = load_embedder(settings)
        bar = tqdm(total=len(missing_assets(store, embedder)), desc="embedding starter templates", unit="asset",
                   file=sys.stderr)
        t0 = time.perf_counter()
        embed_library(store, embedder, progress=lambda i, n, a: bar.update(1))
        bar.close()
        embed_s = time.perf_counter() - t0
        index = TemplateIndex.from_store(store, embedder)
        vocabulary, _ = store_access.library_vocabulary(assets, settings)
        retriever = Retriever(index, assets, vocabulary, settings.retrieval)
        cam = Camera(300.0, 300.0, 112.0, 112.0, 224, 224, [[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 1.2], [0, 0, 0, 1]])
        embed_t, rank_t, pose_t, hits = [], [], [], 0
        ids = [a for a in index.asset_ids if a in assets][:limit]
        for a in ids:
            rows = store.rows(a)
            elev = index.view_elevations(np.arange(rows.start, rows.stop))
            view = int(np.argmin(np.abs(elev - math.radians(20.0))))
            t0 = time.perf_counter()
            crop = crop_from_rgba(read_rgba(store.render_path(a, view)), embedder.input_size)
            f = embedder.embed([crop])
            t1 = time.perf_counter()
            rec = assets[a]
            q = Query(a, rec.class_name, f["global"][0], f["patch"][0], np.asarray(rec.size))
            ranked = retriever.rank_group([q])[0]
            t2 = time.perf_counter()
            estimate_pose(index, ranked[0].asset_id, cam, q.glob, q.patch, box=Box3D((0, 3, 0.4), rec.size, 0.0),
                          mirrored=(q.glob, q.patch), max_views=settings.retrieval.pose_views,
                          asset_size=tuple(rec.size))
            t3 = time.perf_counter()
            embed_t.append(t1 - t0)
            rank_t.append(t2 - t1)
            pose_t.append(t3 - t2)
            hits += ranked[0].asset_id == a
        ms = lambda xs: round(1000 * float(np.median(xs)), 2) if xs else None  # noqa: E731
        return {"embedder": embedder.name, "notes": notes, "assets": len(index.asset_ids), "rows": len(index.row_asset),
                "views_per_asset": store.settings.get("views"), "embed_library_s": round(embed_s, 1),
                "queries": len(ids), "query_embed_ms_median": ms(embed_t), "rank_ms_median": ms(rank_t),
                "pose_ms_median": ms(pose_t), "per_object_ms_median": ms(np.add(rank_t, pose_t).tolist()),
                "self_top1": round(hits / len(ids), 3) if ids else None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assets", type=int, default=2000)
    p.add_argument("--views", type=int, default=3)
    p.add_argument("--classes", type=int, default=20, help="Synthetic retrieval classes (candidates = assets / classes).")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--tmp", type=Path, default=None, help="Folder for the synthetic store (needs ~3 GiB at 2,000 assets).")
    p.add_argument("--library", type=Path, default=ROOT / "asset_data" / "starter_library")
    p.add_argument("--starter-limit", type=int, default=60)
    p.add_argument("--starter-embedder", default="auto", help="auto | dinov2 | classical for the starter part.")
    p.add_argument("--skip-synthetic", action="store_true")
    p.add_argument("--skip-starter", action="store_true")
    p.add_argument("--device", default="numpy",
                   help="Synthetic part: numpy (host arrays) or a torch device (cpu, cuda) holding the features.")
    args = p.parse_args()
    import torch  # noqa: F401  (only to report threads the way the worker would run)

    out = {"machine": {"threads": torch.get_num_threads()},
           "starter": None if args.skip_starter else
           bench_starter(args.library, args.starter_limit, args.starter_embedder, args.tmp),
           "synthetic": None if args.skip_synthetic else
           bench_synthetic(args.assets, args.views, args.classes, args.repeats, args.tmp, args.device),
           "targets_ms": {"cpu_per_object": 200, "gpu_per_object": 20, "starter_per_object": 50}}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
