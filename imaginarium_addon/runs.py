"""Where run folders go (one per input and settings, so re-running reuses finished stages), and their ids."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import bpy

from . import ADDON_ID, preferences


def runs_root() -> Path:
    """Preferences' runs folder, else the extension's user folder (writable in every install)."""
    prefs = preferences.get()
    if prefs is not None and prefs.runs_dir:
        return Path(bpy.path.abspath(prefs.runs_dir))
    try:
        return Path(bpy.utils.extension_path_user(ADDON_ID, path="runs", create=True))
    except ValueError:  # loaded as a legacy add-on (tests): no extension user folder
        return Path(bpy.utils.user_resource("DATAFILES", path="imaginarium/runs", create=True))


def run_dir_for(kind: str, inputs: dict[str, Any], files: list[str] = ()) -> Path:
    """A folder named by the hash of the inputs and the content of the input files."""
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode())
    for f in files:
        if f:
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    stem = Path(files[0]).stem[:24] if files and files[0] else kind
    path = runs_root() / kind / f"{stem}-{digest.hexdigest()[:10]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def library_dir() -> Path | None:
    prefs = preferences.get()
    if prefs is None or not prefs.library_dir:
        return None
    return Path(bpy.path.abspath(prefs.library_dir))


def run_id(run_dir: str | Path) -> str:
    """The run folder's own id (its ``run.json``): bind a collection to this, never to the folder's name.

    A folder that is deleted and made again, or renamed, then never revives an old collection.
    """
    from ..core.runfolder import run_id as folder_run_id

    return folder_run_id(run_dir)
