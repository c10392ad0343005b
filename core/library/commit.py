"""Writing a new generation of the store's big arrays (the body of ``FeatureStore.commit``).

Kept apart from :mod:`store` so the read path stays small. A generation is written in
full under new file names before the index points at it; the old one is deleted only
after the index swap, so a crash at any moment leaves a consistent store.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from ..errors import LibraryError
from .store import asset_dir_name, safe_name


@contextlib.contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One committing writer at a time (a build and an embedder may share a store); no-op without fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows: commits are still atomic, only not serialised
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _entry_for(root: Path, old_by_id: dict[str, dict[str, Any]], asset_id: str, content_hash: str) -> dict[str, Any]:
    prev = old_by_id.get(asset_id)
    if prev and prev["hash"] == content_hash:
        return {k: v for k, v in prev.items() if k != "row0"}
    folder = root / asset_dir_name(asset_id, content_hash)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise LibraryError(f"Asset {asset_id!r} ({content_hash[:12]}) has no finished folder {folder}.",
                           "Re-run the build; it renders assets that are not finished.") from None
    return {"id": asset_id, "hash": content_hash, "dir": asset_dir_name(asset_id, content_hash),
            "n_views": int(meta["n_views"]), "normalisation": meta.get("normalisation", {}),
            "size": meta.get("size")}


def write_generation(root: Path, old: dict[str, Any], assets: list[tuple[str, str]] | None,
                     old_rows: Callable[[str, str], np.ndarray]) -> dict[str, Any]:
    """Write poses and every feature kind for the new asset list; return the new index."""
    gen = int(old.get("generation", 0)) + 1
    old_by_id = {a["id"]: a for a in old["assets"]}
    if assets is None:
        entries = [{k: v for k, v in a.items() if k != "row0"} for a in old["assets"]]
    else:
        seen: set[str] = set()
        entries = []
        for asset_id, content_hash in assets:
            if asset_id in seen:
                raise LibraryError(f"Asset {asset_id!r} is listed twice in a commit.", "List each asset once.")
            seen.add(asset_id)
            entries.append(_entry_for(root, old_by_id, asset_id, content_hash))
    row = 0
    for e in entries:
        e["row0"] = row
        row += e["n_views"]
    n = row

    def unchanged(e: dict[str, Any]) -> bool:
        prev = old_by_id.get(e["id"])
        return bool(prev) and prev["hash"] == e["hash"] and bool(old.get("poses"))

    poses_name = f"poses.{gen}.npy"
    if n == 0:
        np.save(root / (poses_name + ".part"), np.zeros((0, 4, 4), np.float32))
        os.replace(root / (poses_name + ".part.npy"), root / (poses_name + ".part"))
    else:
        poses = np.lib.format.open_memmap(root / (poses_name + ".part"), mode="w+", dtype=np.float32,
                                          shape=(n, 4, 4))
        for e in entries:
            rows = old_rows("poses", e["id"]) if unchanged(e) else np.load(root / e["dir"] / "poses.npy")
            poses[e["row0"]:e["row0"] + e["n_views"]] = rows
        poses.flush()
        del poses
    os.replace(root / (poses_name + ".part"), root / poses_name)

    kinds: dict[str, Any] = {}
    staging = root / "staging" / "features"
    kind_names = set(old.get("kinds", {})) | ({p.name for p in staging.iterdir() if p.is_dir()} if staging.is_dir() else set())
    for kind in sorted(kind_names):
        info = _write_kind(root, gen, kind, old.get("kinds", {}).get(kind), entries, n, old_by_id, old_rows)
        if info:
            kinds[kind] = info
    return {"format": old.get("format", 1), "generation": gen, "settings": old.get("settings", {}),
            "assets": entries, "poses": poses_name, "kinds": kinds}


def _write_kind(root: Path, gen: int, kind: str, old_info: dict[str, Any] | None, entries: list[dict[str, Any]],
                n: int, old_by_id: dict[str, dict[str, Any]], old_rows: Callable[[str, str], np.ndarray]
                ) -> dict[str, Any] | None:
    staged_dir = root / "staging" / "features" / kind
    sources: dict[str, Any] = {}
    shape = tuple(old_info["shape"]) if old_info else None
    for e in entries:
        staged = staged_dir / f"{safe_name(e['id'])}.{e['hash'][:12]}.npy"
        if staged.is_file():
            arr = np.load(staged, mmap_mode="r")
            if shape is None:
                shape = tuple(arr.shape[1:])
            if tuple(arr.shape) != (e["n_views"], *shape):
                raise LibraryError(f"Staged {kind} features of {e['id']!r} have shape {arr.shape}.",
                                   f"Delete {staged} and compute them again.")
            sources[e["id"]] = ("staged", staged)
        elif old_info and old_info["assets"].get(e["id"]) == e["hash"] and old_by_id.get(e["id"], {}).get("hash") == e["hash"]:
            sources[e["id"]] = ("old", None)
    if not sources or shape is None or n == 0:
        return None
    name = f"features/{kind}.{gen}.f16"
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    out = np.memmap(root / (name + ".part"), dtype=np.float16, mode="w+", shape=(n, *shape))
    present = {}
    for e in entries:
        src = sources.get(e["id"])
        sl = slice(e["row0"], e["row0"] + e["n_views"])
        if src is None:
            out[sl] = 0
            continue
        out[sl] = np.load(src[1]) if src[0] == "staged" else old_rows(kind, e["id"])
        present[e["id"]] = e["hash"]
    out.flush()
    del out
    os.replace(root / (name + ".part"), path)
    return {"file": name, "shape": list(shape), "assets": present}


def cleanup(root: Path, old: dict[str, Any], new: dict[str, Any], *, prune: bool) -> None:
    """Delete what the new index no longer references (old generation; with prune also stale folders)."""
    keep = {new.get("poses")} | {k["file"] for k in new["kinds"].values()}
    for name in [old.get("poses")] + [k["file"] for k in old.get("kinds", {}).values()]:
        if name and name not in keep:
            (root / name).unlink(missing_ok=True)
    staging = root / "staging" / "features"
    if staging.is_dir():
        for kind_dir in staging.iterdir():
            info = new["kinds"].get(kind_dir.name, {"assets": {}})
            for f in kind_dir.glob("*.npy"):
                stem = f.name[:-4]
                used = any(stem == f"{safe_name(a)}.{h[:12]}" for a, h in info["assets"].items())
                if used or prune:
                    f.unlink(missing_ok=True)
    if not prune:
        return
    referenced = {a["dir"] for a in new["assets"]}
    assets_dir = root / "assets"
    if assets_dir.is_dir():
        for id_dir in assets_dir.iterdir():
            for version in id_dir.iterdir():
                if f"assets/{id_dir.name}/{version.name}" not in referenced:
                    shutil.rmtree(version, ignore_errors=True)
            if not any(id_dir.iterdir()):
                id_dir.rmdir()
    strays = list(root.glob("*.part")) + list(root.glob("features/*.part")) + list(root.glob(".index.json.*"))
    for stray in strays:
        stray.unlink(missing_ok=True)
    keep_files = keep | {"index.json"}
    for f in list(root.glob("poses.*.npy")) + list(root.glob("features/*.f16")):
        if f.relative_to(root).as_posix() not in keep_files:
            f.unlink(missing_ok=True)
