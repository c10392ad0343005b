"""Build (or update) a library's derived data: template renders, poses, collision proxies.

    .venv/bin/python scripts/build_library.py --library asset_data/starter_library [--workers 2]

Runs under bpy (the venv's bpy module; or `blender -b -P scripts/build_library.py -- … --workers 1`:
parallel workers re-run this interpreter, which must be able to import bpy). Incremental: only assets whose file, catalogue size/name or render settings
changed are rendered again. Resumable: finished assets are committed every
``--commit-every`` assets and a killed build picks up finished-but-uncommitted folders.
Embeddings are not computed here; the matching step adds them with ``put_features``.
Prints one JSON summary line on stdout; progress goes to stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

from _library_progress import progress as tqdm  # noqa: E402  (tqdm, or plain lines inside Blender)

from imaginarium.core.errors import ImaginariumError  # noqa: E402
from imaginarium.core.library.catalogue import load_catalogue  # noqa: E402
from imaginarium.core.library.plan import make_plan, render_settings  # noqa: E402
from imaginarium.core.library.store import FeatureStore  # noqa: E402


def quiet_stdout():
    """Blender prints a line per saved render on C-level stdout; send those to stderr, keep ours clean."""
    sys.stdout.flush()
    ours = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return ours


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Build a library's derived data (renders, poses, proxies).")
    p.add_argument("--library", default=str(ROOT / "asset_data" / "starter_library"))
    p.add_argument("--store", default=None, help="Store folder (default LIBRARY/derived).")
    p.add_argument("--views", type=int, default=None, help="Template views per asset (default 162).")
    p.add_argument("--resolution", type=int, default=None, help="Square render size in pixels (default 224).")
    p.add_argument("--fov", type=float, default=None, help="Camera field of view in degrees (default 40).")
    p.add_argument("--engine", choices=("workbench", "cycles"), default=None, help="Render engine (default workbench).")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="Blender sessions in parallel (default: cores, at most 4; 1 = this process, "
                        "needed inside the Blender app).")
    p.add_argument("--commit-every", type=int, default=10, help="Commit after this many finished assets.")
    p.add_argument("--only", default="", help="Comma-separated asset ids to build (others keep their state).")
    return p.parse_args(argv)


class Builder:
    """Collects finished assets and commits them in batches so a killed build loses little."""

    def __init__(self, store: FeatureStore, order: list[tuple[str, str]], done: set[str], settings: dict,
                 every: int) -> None:
        self.store, self.order, self.done, self.settings, self.every = store, order, done, settings, every
        self.pending = 0
        self.failed: dict[str, str] = {}
        self.stamps: list[float] = [time.perf_counter()]

    def finished(self, asset_id: str, error: str | None) -> None:
        self.stamps.append(time.perf_counter())
        if error:
            self.failed[asset_id] = error
            tqdm.write(f"skipped {asset_id}: {error}", file=sys.stderr)
            return
        self.done.add(asset_id)
        self.pending += 1
        if self.pending >= self.every:
            self.commit(prune=False)

    def commit(self, prune: bool) -> None:
        self.store.commit([(a, h) for a, h in self.order if a in self.done], prune=prune, settings=self.settings)
        self.pending = 0


def run_in_process(catalogue, jobs, store_root: Path, settings: dict, builder: Builder, bar: tqdm) -> None:
    from imaginarium.core.library.bake_bpy import bake_many

    def done(asset_id: str, _digest: str, error: str | None) -> None:
        builder.finished(asset_id, error)
        bar.update(1)

    bake_many(catalogue, jobs, store_root, settings, done)


def run_workers(library: Path, jobs, store_root: Path, settings: dict, builder: Builder, bar: tqdm,
                workers: int) -> None:
    shards = [jobs[i::workers] for i in range(workers)]
    events: queue.Queue = queue.Queue()
    procs = []
    tmpdir = tempfile.mkdtemp(prefix="imaginarium-build-")
    for k, shard in enumerate(s for s in shards if s):
        spec = Path(tmpdir) / f"jobs{k}.json"
        spec.write_text(json.dumps({"settings": settings, "jobs": shard}), encoding="utf-8")
        env = dict(os.environ)  # Mesa's llvmpipe threads: share the cores between sessions
        env.setdefault("LP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
        proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "_library_render_worker.py"), str(library),
                                 str(store_root), str(spec)], stdout=subprocess.PIPE, text=True, env=env)
        procs.append(proc)
        threading.Thread(target=lambda p=proc: ([events.put(line) for line in p.stdout], events.put(None)),
                         daemon=True).start()
    open_streams = len(procs)
    try:
        while open_streams:
            line = events.get()
            if line is None:
                open_streams -= 1
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            builder.finished(msg["id"], msg.get("error"))
            bar.update(1)
    except BaseException:
        for proc in procs:  # interrupted: stop the sessions; finished folders are kept for the next run
            if proc.poll() is None:
                proc.terminate()
        raise
    finally:
        for proc in procs:
            proc.wait()
    bad = [p.returncode for p in procs if p.returncode]
    if bad:
        raise RuntimeError(f"{len(bad)} render worker(s) failed (exit {bad}); see the messages above.")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if "bpy" in sys.modules and args.workers > 1:  # inside the Blender app: workers cannot re-run this interpreter
        print("note: running inside Blender, using --workers 1", file=sys.stderr)
        args.workers = 1
    started = time.perf_counter()
    out = quiet_stdout()
    library = Path(args.library)
    try:
        catalogue = load_catalogue(library)
        store_root = Path(args.store) if args.store else catalogue.library_dir / "derived"
        settings = render_settings(views=args.views, resolution=args.resolution, fov_deg=args.fov, engine=args.engine)
        store = FeatureStore.open_or_create(store_root, settings)
        only = {s for s in args.only.split(",") if s} or None
        plan = make_plan(store, catalogue, settings, only)
        order = plan.order
        if only:  # keep assets outside the selection as they are
            listed = {a for a, _ in order}
            order = [(a, store.asset_hash(a)) for a in store.asset_ids() if a not in listed] + order
            order.sort()
        builder = Builder(store, order, set(plan.keep) | set(plan.ready) | (
            {a for a in store.asset_ids() if only and a not in only}), settings, args.commit_every)
        jobs = [(a, h) for a, h in plan.order if a in set(plan.todo)]
        interrupted = False
        with tqdm(total=len(jobs), desc="derived data", unit="asset", file=sys.stderr) as bar:
            try:
                if jobs and args.workers <= 1:
                    run_in_process(catalogue, jobs, store_root, settings, builder, bar)
                elif jobs:
                    run_workers(catalogue.library_dir, jobs, store_root, settings, builder, bar, args.workers)
            except KeyboardInterrupt:
                interrupted = True
        builder.commit(prune=not interrupted)
    except ImaginariumError as exc:
        print(f"error: {exc.message}\nfix: {exc.fix}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    rendered = len(jobs) - len(builder.failed)
    gaps = sorted(b - a for a, b in zip(builder.stamps, builder.stamps[1:]))
    print(json.dumps({"store": str(store_root), "assets": len(store.asset_ids()), "rendered": rendered,
                      "kept": len(plan.keep), "resumed": len(plan.ready), "removed": len(plan.removed),
                      "failed": builder.failed, "seconds": round(seconds, 2),
                      "median_asset_s": round(gaps[len(gaps) // 2], 3) if gaps else None,
                      "settings": settings, "interrupted": interrupted}), file=out, flush=True)
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]))  # blender -b -P … -- args
