"""The room list of ``batch rooms``: JSON lines, one room each, of three kinds.

* ``{"name": "bedroom_0001", "generator": {"room": "bedroom", "seed": 1}}`` — a seeded synthetic room
  with its ground truth (no weights needed);
* ``{"name": …, "image": PATH, "depth": PATH, "intrinsics": [fx, fy, cx, cy] | "fx,fy,cx,cy",
  "fov": DEG, "detections": PATH}`` — a photo through ``core.pipeline.image_to_room``;
* ``{"name": …, "prompt": "…", "seed": 3}`` — FLUX on a GPU, then the photo path.

Every line is checked before any work starts (diffusers-style: reject bad arguments first), so a
typo on line 812 does not surface after hours of rendering. Relative paths are read from the
spec file's folder.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInputError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
KINDS = ("generator", "photo", "prompt")
PHOTO_KEYS = {"image", "depth", "intrinsics", "fov", "detections"}


@dataclass
class RoomSpec:
    """One room to make; ``kind`` is generator, photo or prompt; ``line`` is its line in the spec file."""

    name: str
    kind: str
    line: int
    generator: dict[str, Any] = field(default_factory=dict)
    photo: dict[str, Any] = field(default_factory=dict)
    prompt: str = ""
    seed: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    def key(self) -> str:
        """A hash of what decides the room's content: a rerun redoes a room whose line changed."""
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def _fail(path: Path, line: int, what: str, fix: str) -> BadInputError:
    return BadInputError(f"{path.name} line {line}: {what}", fix)


def _intrinsics(value: Any, path: Path, line: int) -> list[float]:
    parts = value.split(",") if isinstance(value, str) else value
    try:
        k = [float(v) for v in parts]
    except (TypeError, ValueError):
        k = []
    if len(k) != 4 or not all(v == v and abs(v) < 1e7 for v in k) or k[0] <= 0 or k[1] <= 0:
        raise _fail(path, line, f"intrinsics {value!r} are not four numbers fx, fy, cx, cy (positive focal lengths).",
                    'Write "intrinsics": [fx, fy, cx, cy] in pixels, or give "fov" in degrees instead.')
    return k


def _photo(data: dict[str, Any], base: Path, path: Path, line: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("image", "depth", "detections"):
        if data.get(key) is None:
            continue
        if not isinstance(data[key], str) or not data[key]:
            raise _fail(path, line, f'"{key}" must be a file path.', f'Write "{key}": "relative/or/absolute/path".')
        file = (base / data[key]).resolve()
        if not file.is_file():
            raise _fail(path, line, f'"{key}" file {file} does not exist.', "Fix the path (relative paths are read "
                        "from the spec file's folder).")
        out[key] = str(file)
    if "intrinsics" in data and data["intrinsics"] is not None:
        out["intrinsics"] = _intrinsics(data["intrinsics"], path, line)
    if data.get("fov") is not None:
        fov = data["fov"]
        if not isinstance(fov, (int, float)) or not 1.0 < float(fov) < 179.0:
            raise _fail(path, line, f"fov {fov!r} is not an angle between 1 and 179 degrees.", 'Write "fov": 60.')
        out["fov"] = float(fov)
    return out


def parse_spec(path: str | Path) -> list[RoomSpec]:
    """Read and check every line of a room list; raises BadInputError naming the line and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"Cannot read the room list {path}: {exc}", "Pass a UTF-8 JSON-lines file.") from None
    rooms: list[RoomSpec] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            raise _fail(path, number, "is not valid JSON.", "Write one JSON object per line.") from None
        if not isinstance(data, dict):
            raise _fail(path, number, "is not a JSON object.", 'Write {"name": …, "generator": {…}} per line.')
        name = data.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise _fail(path, number, f"name {name!r} is not a usable folder name.",
                        "Use letters, digits, '_', '-' and '.', up to 100 characters, e.g. bedroom_0001.")
        if name in seen:
            raise _fail(path, number, f"name {name!r} was already used on line {seen[name]}.", "Give every room its own name.")
        seen[name] = number
        kinds = [k for k, present in (("generator", "generator" in data), ("photo", "image" in data),
                                      ("prompt", "prompt" in data)) if present]
        if len(kinds) != 1:
            raise _fail(path, number, f"names {' and '.join(kinds) or 'no kind of room'}.",
                        'Give exactly one of "generator": {…}, "image": PATH or "prompt": "…".')
        spec = RoomSpec(name, kinds[0], number, raw=data)
        if spec.kind == "generator":
            gen = data["generator"]
            from ..layout.room_generator import KINDS as ROOM_KINDS

            if not isinstance(gen, dict) or gen.get("room", "bedroom") not in ROOM_KINDS:
                raise _fail(path, number, f"generator {gen!r} names no known room.",
                            f'Write "generator": {{"room": one of {list(ROOM_KINDS)}, "seed": 1}}.')
            seed = gen.get("seed", 0)
            if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
                raise _fail(path, number, f"seed {seed!r} is not a whole number >= 0.", 'Write "seed": 1.')
            spec.generator = {"room": gen.get("room", "bedroom"), "seed": seed,
                              "max_objects": gen.get("max_objects")}
        elif spec.kind == "photo":
            spec.photo = _photo(data, path.parent, path, number)
        else:
            prompt, seed = data["prompt"], data.get("seed", 0)
            if not isinstance(prompt, str) or not prompt.strip():
                raise _fail(path, number, "prompt is empty.", 'Write "prompt": "a cosy bedroom with a wooden bed".')
            if not isinstance(seed, int) or isinstance(seed, bool):
                raise _fail(path, number, f"seed {seed!r} is not a whole number.", 'Write "seed": 3.')
            spec.prompt, spec.seed = prompt.strip(), seed
            spec.photo = _photo({k: v for k, v in data.items() if k in PHOTO_KEYS - {"image"}}, path.parent, path, number)
        rooms.append(spec)
    if not rooms:
        raise BadInputError(f"The room list {path} has no rooms.", "Write one JSON object per line (see --help).")
    return rooms
