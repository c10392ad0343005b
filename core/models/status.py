"""Is a model on disk, complete, and how big — from file names and sizes only.

Why no hashing here: Blender asks for every model's status while it draws the preferences,
so this must take milliseconds. Hash checks are :func:`verify` (run by the worker's
``verify_model`` op, with progress). A download leaves a manifest (``MANIFEST``) listing each
file with its size and hash as the hub reported them; without one (files put there by hand)
the model's required files decide, and the state says it was not checked against the hub.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from .registry import ModelSpec, is_published_file, setting_value, target

MANIFEST = ".imaginarium-model.json"
PARTIAL_DIR = ".imaginarium-partial"

INSTALLED, MISSING, INCOMPLETE, UNUSED = "installed", "missing", "incomplete", "not used"


@dataclass
class ModelStatus:
    """What the Models section shows for one model."""

    key: str
    label: str
    state: str                       # installed | missing | incomplete | not used
    path: str
    size_bytes: int = 0
    detail: str = ""
    missing: list[str] = field(default_factory=list)
    source: str = ""                 # download | manual | published (a .pth converted on first use)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def manifest_path(place: Path, single_file: bool) -> Path:
    """Where a download records what it fetched: inside the folder, or beside a single file."""
    return place.parent / f".{place.name}{MANIFEST}" if single_file else place / MANIFEST


def partial_dir(place: Path, single_file: bool) -> Path:
    """Where interrupted transfers wait to be resumed."""
    return place.parent / PARTIAL_DIR / place.name if single_file else place / PARTIAL_DIR


def read_manifest(place: Path, single_file: bool) -> dict[str, Any] | None:
    try:
        data = json.loads(manifest_path(place, single_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (or of the file itself)."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0  # type: ignore[assignment]
    return f"{n} B"


def status(spec: ModelSpec, settings: Any, base: str | os.PathLike[str] | None = None) -> ModelStatus:
    """The model's state at the place its setting names (no network, no hashing)."""
    place = target(spec, settings, base)
    if place is None:
        return ModelStatus(spec.key, spec.label, UNUSED, "", detail=f"{spec.setting} is empty: not used")
    out = ModelStatus(spec.key, spec.label, MISSING, str(place))
    if place.is_file() and is_published_file(spec, place):
        out.state, out.source, out.size_bytes = INSTALLED, "published", place.stat().st_size
        out.detail = "original-format checkpoint; converted to the transformers layout on first use"
        return out
    partial = partial_dir(place, spec.single_file)
    has_partial = partial.is_dir() and any(partial.rglob("*.part"))
    if spec.single_file:
        return _single_file_status(spec, place, out, has_partial)
    if not place.is_dir():
        if place.exists():
            out.detail = f"{place} is a file, not a model folder"
        elif has_partial:
            out.state, out.detail = INCOMPLETE, "download interrupted: Download resumes it"
        return out
    out.size_bytes = tree_size(place)
    manifest = read_manifest(place, False)
    if manifest is not None:
        out.source = "download"
        expected = {name: int(info.get("size", -1)) for name, info in manifest["files"].items()}
        out.missing = sorted(name for name, size in expected.items() if _size(place / name) != size)
    else:
        out.source = "manual"
        out.missing = missing_required(place, spec.required)
    if not out.missing and not has_partial:
        out.state = INSTALLED
        out.detail = "" if manifest is not None else "files present (not checked against the hub: Verify checks them)"
    elif out.size_bytes == 0:
        out.state = MISSING  # an empty folder
    else:
        out.state = INCOMPLETE
        out.detail = (f"{len(out.missing)} file(s) missing or the wrong size: Download completes them"
                      if out.missing else "download interrupted: Download resumes it")
    return out


def _single_file_status(spec: ModelSpec, place: Path, out: ModelStatus, has_partial: bool) -> ModelStatus:
    manifest = read_manifest(place, True)
    if place.is_file():
        out.size_bytes = place.stat().st_size
        out.source = "download" if manifest is not None else "manual"
        info = (manifest or {}).get("files", {}).get(place.name)
        if info is not None and int(info.get("size", -1)) != out.size_bytes:
            out.state, out.detail = INCOMPLETE, "the file's size differs from the download's record"
        else:
            out.state = INSTALLED
    elif has_partial:
        out.state, out.detail = INCOMPLETE, "download interrupted: Download resumes it"
        out.size_bytes = tree_size(partial_dir(place, True))
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else -1
    except OSError:
        return -1


def missing_required(place: Path, required: tuple[str, ...]) -> list[str]:
    """Required files that are absent, including shards named by a required ``*.index.json``."""
    missing = [name for name in required if not (place / name).is_file()]
    for name in required:
        if name.endswith(".index.json") and (place / name).is_file():
            try:
                shards = set(json.loads((place / name).read_text(encoding="utf-8")).get("weight_map", {}).values())
            except (OSError, ValueError, AttributeError):
                missing.append(name + " (unreadable)")
                continue
            folder = str(Path(name).parent)
            missing += [f"{folder}/{s}" if folder != "." else s for s in sorted(shards)
                        if not (place / folder / s).is_file()]
    return missing


def all_status(settings: Any, base: str | os.PathLike[str] | None = None) -> list[ModelStatus]:
    from .registry import MODELS

    return [status(spec, settings, base) for spec in MODELS]


# ---- Verify: sizes and hashes (slow; the worker runs it) ----------------------------------

def file_digest(path: Path, algorithm: str, on_bytes: Callable[[int], None] | None = None) -> str:
    """sha256 of the content, or ``git-sha1``: the hub's blob id of a small (non-LFS) file."""
    size = path.stat().st_size
    h = hashlib.sha1(f"blob {size}\0".encode()) if algorithm == "git-sha1" else hashlib.sha256()
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(8 * 1024 * 1024)
            if not chunk:
                break
            h.update(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
    return h.hexdigest()


def verify(spec: ModelSpec, settings: Any, base: str | os.PathLike[str] | None = None,
           on_bytes: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Check every recorded file's size and hash (or, without a record, the required files and their headers).

    ``on_bytes(done, total)`` reports progress and may raise to cancel. Returns
    ``{"model", "state", "path", "problems": [...], "checked": n, "source"}``.
    """
    place = target(spec, settings, base)
    st = status(spec, settings, base)
    result: dict[str, Any] = {"model": spec.key, "state": st.state, "path": st.path, "problems": [], "checked": 0,
                              "source": st.source}
    if place is None or st.state in (MISSING, UNUSED):
        return result
    if st.source == "published":
        from .convert import check_published

        result["problems"] = check_published(spec, place, settings)
        result["checked"] = 1
    else:
        manifest = read_manifest(place, spec.single_file)
        root = place.parent if spec.single_file else place
        files = manifest["files"] if manifest else {n: {} for n in _present_files(place, spec)}
        total = sum(_size(root / n) for n in files if _size(root / n) > 0)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if on_bytes is not None:
                on_bytes(done, total)

        for name, info in sorted(files.items()):
            path = root / name
            if _size(path) < 0:
                result["problems"].append(f"{name}: missing")
                continue
            if "size" in info and _size(path) != int(info["size"]):
                result["problems"].append(f"{name}: {_size(path)} bytes, the hub listed {info['size']}")
                continue
            if info.get("sha256") or info.get("blob_id"):
                algorithm, want = ("sha256", info["sha256"]) if info.get("sha256") else ("git-sha1", info["blob_id"])
                got = file_digest(path, algorithm, tick)
                if got != want:
                    result["problems"].append(f"{name}: content differs from the hub's ({algorithm} {got[:12]}…)")
            else:
                result["problems"] += _structural_problems(path, name)
                tick(_size(path))
            result["checked"] += 1
        if manifest is None:
            result["problems"] += [f"{n}: missing" for n in missing_required(place, spec.required)]
    result["state"] = INCOMPLETE if result["problems"] else INSTALLED
    return result


def _present_files(place: Path, spec: ModelSpec) -> list[str]:
    if spec.single_file:
        return [place.name] if place.is_file() else []
    return sorted(str(p.relative_to(place)) for p in place.rglob("*")
                  if p.is_file() and PARTIAL_DIR not in p.parts and p.name != MANIFEST
                  and ".cache" not in p.relative_to(place).parts and not p.name.startswith("imaginarium_converted"))


def _structural_problems(path: Path, name: str) -> list[str]:
    """Without a hash to compare: a JSON file must parse; a safetensors file's header must fit the file."""
    if path.suffix == ".json":
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return [f"{name}: not valid JSON ({exc})"]
    elif path.suffix == ".safetensors":
        try:
            with path.open("rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                header = json.loads(fh.read(n))
            end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
            if 8 + n + end != path.stat().st_size:
                return [f"{name}: {path.stat().st_size} bytes but its header describes {8 + n + end} (truncated?)"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return [f"{name}: not a readable safetensors file ({exc})"]
    return []


def describe(st: ModelStatus) -> str:
    """One line for the UI: state, size and what to do."""
    size = f", {human_size(st.size_bytes)}" if st.size_bytes else ""
    return f"{st.state}{size}" + (f" — {st.detail}" if st.detail else "")


__all__ = ["ModelStatus", "status", "all_status", "verify", "describe", "human_size", "setting_value"]
