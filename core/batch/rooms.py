"""``batch rooms``: many rooms from a JSON-lines list, scheduled on Ray, committed by this driver.

Per room: a layout task (generator on a CPU; photo and prompt through the pipeline, on a GPU when
the cluster has one; FLUX on a GPU) then a render task (a Blender child on one CPU). Ray resolves
the chain, so GPU tasks of later rooms run while Blender renders earlier ones. The driver writes
each finished room into ``DIR/.staging-<name>`` and renames it to ``DIR/<name>`` in one step, then
appends the room to ``DIR/manifest.jsonl``; a failed room is recorded with its error and the
batch goes on. A rerun skips rooms that are done with the same spec line and all their files.
"""
from __future__ import annotations

import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadInputError, ImaginariumError
from . import room_tasks
from .cluster import gpu_count, ray_cluster
from .manifest import append_record, is_done, read_manifest
from .room_spec import RoomSpec, parse_spec

LORA_DIR = "lora_data"


@dataclass
class RoomOptions:
    """Render size and samples of every room, and whether to write LoRA training pairs."""

    width: int = 640
    height: int = 480
    samples: int = 16
    for_lora: bool = False
    retries: int = 2


def _error_text(exc: BaseException) -> str:
    """The message of a task's failure: the project's own error (with its fix) if that is what it was."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, ImaginariumError):
        return f"{cause.message} — {cause.fix}"
    lines = [line for line in str(cause).strip().splitlines() if line.strip()]
    return lines[-1] if lines else type(cause).__name__


def commit_room(out_dir: Path, name: str, files: dict[str, bytes]) -> None:
    """Write a room's files beside the output and swap them in with one rename (old folder removed after)."""
    staging = out_dir / f".staging-{name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    for file_name, data in files.items():
        (staging / file_name).write_bytes(data)
    final = out_dir / name
    old = None
    if final.exists():
        old = out_dir / f".old-{name}-{uuid.uuid4().hex[:8]}"
        final.rename(old)
    staging.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_lora_pair(out_dir: Path, name: str, files: dict[str, bytes], caption: str) -> None:
    """``DIR/lora_data/<name>.png`` + ``<name>.txt``: the folder layout ``scripts/train_flux_lora.py`` reads."""
    folder = out_dir / LORA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.png").write_bytes(files[f"{name}.png"])
    (folder / f"{name}.txt").write_text(caption.strip() + "\n", encoding="utf-8")


def _schedule(ray: Any, spec: RoomSpec, library: str | None, opts: RoomOptions, gpus: float) -> Any:
    """The chain of tasks of one room; returns the reference to its files."""
    layout_res = {"num_gpus": 1} if gpus >= 1 else {"num_cpus": 1}
    retry = {"max_retries": opts.retries}
    if spec.kind == "generator":
        g = spec.generator
        staged = ray.remote(room_tasks.generator_layout).options(num_cpus=1, **retry).remote(
            library, g["room"], g["seed"], g.get("max_objects"))
    elif spec.kind == "photo":
        staged = ray.remote(room_tasks.photo_layout).options(**layout_res, **retry).remote(library, spec.photo)
    else:
        image = ray.remote(room_tasks.prompt_image).options(num_gpus=1, **retry).remote(spec.prompt, spec.seed)
        staged = ray.remote(room_tasks.photo_layout).options(**layout_res, **retry).remote(library, spec.photo, image)
    return ray.remote(room_tasks.render_room).options(num_cpus=1, **retry).remote(
        staged, library, spec.name, spec.kind, spec.raw, opts.width, opts.height, opts.samples)


def run_rooms(spec_path: str | Path, out_dir: str | Path, *, library: str | None, address: str | None = None,
              workers: int | None = None, opts: RoomOptions | None = None, progress: bool = True) -> dict[str, Any]:
    """Make every room of the list that is not done yet; returns counts and the failures."""
    opts = opts or RoomOptions()
    rooms = parse_spec(spec_path)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInputError(f"--out {out} is a file.", "Pass a folder (it is created if missing).")
    needs_library = [r.name for r in rooms if r.kind in ("generator", "photo", "prompt")]
    if needs_library and not (library and (Path(library) / "imaginarium_asset_info.csv").is_file()):
        raise BadInputError(f"Rooms need an asset library, and {library!r} has no imaginarium_asset_info.csv.",
                            "Pass --library with the folder of your asset library.")
    out.mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob(".staging-*")) + list(out.glob(".old-*")):  # a killed driver's leftovers
        shutil.rmtree(stale, ignore_errors=True)
    manifest = read_manifest(out)
    todo = [r for r in rooms if not is_done(out, manifest.get(r.name), r.key())]
    summary: dict[str, Any] = {"rooms": len(rooms), "skipped": len(rooms) - len(todo), "done": 0, "failed": {}}
    if not todo:
        return summary
    from tqdm import tqdm

    started = time.perf_counter()
    with ray_cluster(address, num_cpus=workers) as ray:
        gpus = gpu_count(ray)
        pending: dict[Any, RoomSpec] = {}
        for spec in todo:
            if spec.kind == "prompt" and gpus < 1:
                summary["failed"][spec.name] = "needs a GPU for FLUX, and the cluster has none"
                append_record(out, {"name": spec.name, "key": spec.key(), "status": "failed", "kind": spec.kind,
                                    "error": summary["failed"][spec.name] + " — run prompt rooms on a GPU machine "
                                    "or cluster (--address)."})
                continue
            pending[_schedule(ray, spec, library, opts, gpus)] = spec
        bar = tqdm(total=len(todo), unit="room", desc="rooms", file=sys.stderr, disable=not progress,
                   initial=len(summary["failed"]))
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            spec = pending.pop(ready[0])
            t0 = time.perf_counter()
            try:
                files = ray.get(ready[0])
                commit_room(out, spec.name, files)
                if opts.for_lora:
                    import json

                    meta = json.loads(files[f"{spec.name}_meta.json"])
                    write_lora_pair(out, spec.name, files, spec.prompt or meta.get("description", ""))
                append_record(out, {"name": spec.name, "key": spec.key(), "status": "done", "kind": spec.kind,
                                    "files": sorted(files), "commit_s": round(time.perf_counter() - t0, 3)})
                summary["done"] += 1
            except Exception as exc:  # a failed room is recorded and the batch goes on
                summary["failed"][spec.name] = _error_text(exc)
                append_record(out, {"name": spec.name, "key": spec.key(), "status": "failed", "kind": spec.kind,
                                    "error": summary["failed"][spec.name]})
            bar.update(1)
            bar.set_postfix(done=summary["done"], failed=len(summary["failed"]))
        bar.close()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    summary["rooms_per_hour"] = round(3600 * summary["done"] / summary["seconds"], 1) if summary["seconds"] else None
    return summary
