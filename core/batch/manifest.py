"""``DIR/manifest.jsonl``: one line per finished or failed room, appended by the driver only.

Why append-only JSON lines: a batch killed at any moment leaves a readable manifest (a torn last
line is ignored), the history of retries stays visible, and the latest line per room decides
what a rerun does: skip a room that is done with the same spec and all its files, redo the rest.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

MANIFEST = "manifest.jsonl"


def read_manifest(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The latest record per room name (unreadable lines are skipped)."""
    latest: dict[str, dict[str, Any]] = {}
    try:
        lines = (out_dir / MANIFEST).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return latest
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("name"), str):
            latest[rec["name"]] = rec
    return latest


def append_record(out_dir: Path, record: dict[str, Any]) -> None:
    """Append one record and flush it to disk before the next room is reported."""
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {**record, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with open(out_dir / MANIFEST, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def is_done(out_dir: Path, record: dict[str, Any] | None, key: str) -> bool:
    """A room counts as done when its latest record says so for this spec and every file it listed exists."""
    if not record or record.get("status") != "done" or record.get("key") != key:
        return False
    folder = out_dir / record["name"]
    return all((folder / name).is_file() for name in record.get("files", []))
