"""``batch library``: a library's derived data on Ray — one bake task per asset, embedding tasks per batch.

The plan (what is new or changed, by content hash) is the single-machine build's own
(``core.library.plan.make_plan``), so a rerun skips finished assets here too. Tasks return files
and arrays; this driver writes each asset's folder by rename and commits the store every
``commit_every`` assets under the store's lock, so a task killed or retried by Ray never leaves a
half-written asset in the index. A failing asset is reported with its reason and skipped.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from ..errors import ImaginariumError
from . import library_tasks
from .cluster import gpu_count, ray_cluster


def _write_asset(store_root: Path, asset_id: str, content_hash: str, files: dict[str, bytes]) -> None:
    from ..library.store import asset_dir_name

    final = store_root / asset_dir_name(asset_id, content_hash)
    staging = final.parent / f".staging-{uuid.uuid4().hex[:8]}"
    for rel, data in files.items():
        path = staging / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if final.exists():  # an unfinished folder of an earlier, killed build
        shutil.rmtree(final)
    os.replace(staging, final)


def _error_text(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, ImaginariumError):
        return cause.message
    lines = [line for line in str(cause).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(cause).__name__


def build_library(library: str | Path, *, address: str | None = None, workers: int | None = None,
                  views: int | None = None, resolution: int | None = None, commit_every: int = 20,
                  embed: bool = True, embed_batch: int = 8, progress: bool = True) -> dict[str, Any]:
    """Bake and embed what the store lacks; returns counts, failures and the rate."""
    from tqdm import tqdm

    from ..config import Settings
    from ..library.catalogue import load_catalogue
    from ..library.plan import make_plan, render_settings
    from ..library.store import FeatureStore

    started = time.perf_counter()
    catalogue = load_catalogue(library)
    store_root = catalogue.library_dir / "derived"
    settings = render_settings(views=views, resolution=resolution)
    store = FeatureStore.open_or_create(store_root, settings)
    plan = make_plan(store, catalogue, settings)
    done = set(plan.keep) | set(plan.ready)
    failed: dict[str, str] = {}
    todo = [(a, h) for a, h in plan.order if a in set(plan.todo)]
    summary: dict[str, Any] = {"assets": len(plan.order), "kept": len(plan.keep), "resumed": len(plan.ready),
                               "baked": 0, "embedded": 0, "failed": failed}
    with ray_cluster(address, num_cpus=workers) as ray:
        bake = ray.remote(library_tasks.bake_asset).options(num_cpus=1, max_retries=2)
        refs = {bake.remote(str(catalogue.library_dir), a, h, settings): (a, h) for a, h in todo}
        bar = tqdm(total=len(todo), unit="asset", desc="bake", file=sys.stderr, disable=not progress)
        since_commit = 0
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            asset_id, content_hash = refs.pop(ready[0])
            try:
                _write_asset(store_root, asset_id, content_hash, ray.get(ready[0]))
                done.add(asset_id)
                summary["baked"] += 1
                since_commit += 1
            except Exception as exc:  # one bad asset never stops the library
                failed[asset_id] = _error_text(exc)
                bar.write(f"skipped {asset_id}: {failed[asset_id]}", file=sys.stderr)
            bar.update(1)
            rate = summary["baked"] / max(time.perf_counter() - started, 1e-9) * 60
            bar.set_postfix(done=summary["baked"], failed=len(failed), left=len(refs), per_min=f"{rate:.1f}")
            if since_commit >= commit_every:
                store = store.commit([(a, h) for a, h in plan.order if a in done], settings=settings)
                since_commit = 0
        bar.close()
        store = store.commit([(a, h) for a, h in plan.order if a in done], settings=settings, prune=not failed)
        summary["bake_seconds"] = round(time.perf_counter() - started, 2)
        if embed:
            summary.update(_embed(ray, store, Settings.load(), embed_batch, progress))
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["assets_per_minute"] = round(60 * summary["baked"] / summary["bake_seconds"], 2) if summary["baked"] else None
    return summary


def _embed(ray: Any, store: Any, settings: Any, batch: int, progress: bool) -> dict[str, Any]:
    """Embedding tasks over batches of assets; the driver stages their features and commits once."""
    from tqdm import tqdm

    from ..matching.embed_library import missing_assets, patch_bytes
    from ..matching.embedders import kind, load_embedder

    embedder, notes = load_embedder(settings)
    patches = patch_bytes(store, embedder) <= settings.retrieval.patch_store_max_gb * 2 ** 30
    todo = missing_assets(store, embedder, patches=patches)
    use_gpu = embedder.name != "classical" and gpu_count(ray) >= 1
    task = ray.remote(library_tasks.embed_assets).options(**({"num_gpus": 1} if use_gpu else {"num_cpus": 1}),
                                                          max_retries=2)
    batches = [todo[i:i + batch] for i in range(0, len(todo), batch)]
    window = max(2, int(ray.cluster_resources().get("CPU", 1)) * 2)  # renders are read only as tasks free up

    def submit(assets: list[str]) -> Any:
        views = [(a, [store.render_path(a, v).read_bytes() for v in range(len(store.rows(a)))]) for a in assets]
        return task.remote(embedder.name, views)

    g_kind, p_kind = kind(embedder, "global"), kind(embedder, "patch")
    bar = tqdm(total=len(todo), unit="asset", desc="embed", file=sys.stderr, disable=not progress)
    failed: dict[str, str] = {}
    embedded = 0
    refs = {submit(b): b for b in batches[:window]}
    queue = batches[window:]
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1)
        assets = refs.pop(ready[0])
        if queue:
            nxt = queue.pop(0)
            refs[submit(nxt)] = nxt
        try:
            for asset_id, feats in ray.get(ready[0]).items():
                store.put_features(g_kind, asset_id, feats["global"])
                if patches:
                    store.put_features(p_kind, asset_id, feats["patch"])
                embedded += 1
        except Exception as exc:  # the batch's assets stay unembedded; a rerun does them
            for asset_id in assets:
                failed[asset_id] = _error_text(exc)
        bar.update(len(assets))
    bar.close()
    if embedded:
        store.commit()
    return {"embedder": embedder.name, "embedded": embedded, "embedder_notes": list(notes),
            "embed_failed": failed, "patches": patches}
