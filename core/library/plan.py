"""What a derived-data build has to do: content hashes and the list of assets to (re)make.

Why hashes: a rebuild must touch only new or changed assets. An asset's hash covers the
bytes of its file, the catalogue fields that change its derived data (id, name_en, bbx)
and the render settings; caption or licence edits do not trigger re-renders. numpy-free,
bpy-free: the plan is computed before any Blender session starts.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..schema import AssetRecord
from .store import FeatureStore, asset_dir_name

BUILD_VERSION = 3  # bump when the render or proxy code changes what it writes
DEFAULT_SETTINGS = {"views": 162, "resolution": 224, "fov_deg": 40.0, "engine": "workbench", "proxy_faces": 2000}


def render_settings(**overrides: Any) -> dict[str, Any]:
    out = dict(DEFAULT_SETTINGS, build_version=BUILD_VERSION)
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out


def content_hash(record: AssetRecord, row: dict[str, str], settings: dict[str, Any]) -> str:
    """sha256 over the asset file, the catalogue fields that matter and the render settings."""
    h = hashlib.sha256()
    if record.path:
        with open(record.path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    fields = {k: (row.get(k) or "").strip() for k in ("id", "name_en", "bbx")}
    h.update(json.dumps({"row": fields, "settings": settings}, sort_keys=True).encode("utf-8"))
    return h.hexdigest()


@dataclass
class BuildPlan:
    """``keep``: committed and unchanged; ``ready``: finished on disk but not committed yet
    (a build killed before its commit); ``todo``: to render. ``order`` is the final asset list."""

    order: list[tuple[str, str]] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    ready: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def make_plan(store: FeatureStore, catalogue: Any, settings: dict[str, Any], only: set[str] | None = None) -> BuildPlan:
    """Compare the catalogue with the store; assets without a file are skipped (catalogue-only mode)."""
    plan = BuildPlan()
    committed = {a: store.asset_hash(a) for a in store.asset_ids()}
    for asset_id in sorted(catalogue.assets):
        rec = catalogue.assets[asset_id]
        if rec.path is None or (only and asset_id not in only):
            continue
        digest = content_hash(rec, catalogue.rows[asset_id], settings)
        plan.order.append((asset_id, digest))
        if committed.get(asset_id) == digest:
            plan.keep.append(asset_id)
        elif (store.root / asset_dir_name(asset_id, digest) / "meta.json").is_file():
            plan.ready.append(asset_id)
        else:
            plan.todo.append(asset_id)
    listed = {a for a, _ in plan.order}
    plan.removed = [a for a in committed if a not in listed]
    return plan
