"""A cached summary of the asset library folder for the sidebar (reading the CSV on every redraw would stall)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ImaginariumError

CSV_NAME = "imaginarium_asset_info.csv"


@dataclass
class LibrarySummary:
    path: str
    ok: bool = False
    assets: int = 0
    excluded: int = 0
    problems: int = 0
    classes: int = 0
    derived_built: bool = False
    error: str = ""
    fix: str = ""
    first_problems: list[str] = field(default_factory=list)


_cache: dict[tuple[str, float], LibrarySummary] = {}


def summarise(library_dir: Path | None) -> LibrarySummary:
    """Counts from the catalogue and whether the derived-data store exists; cached per CSV mtime."""
    if library_dir is None:
        return LibrarySummary("", error="No asset library is set.", fix="Set Asset library in the add-on preferences.")
    csv = library_dir / CSV_NAME if library_dir.is_dir() else library_dir
    try:
        mtime = os.path.getmtime(csv)
    except OSError:
        return LibrarySummary(str(library_dir), error=f"No {CSV_NAME} in {library_dir}.",
                              fix="Point preferences at the library folder, or run `make library` for the starter one.")
    key = (str(csv), mtime)
    if key not in _cache:
        _cache.clear()
        _cache[key] = _read(library_dir if library_dir.is_dir() else library_dir.parent, csv)
    return _cache[key]


def forget() -> None:
    _cache.clear()


def _read(root: Path, csv: Path) -> LibrarySummary:
    from ..core.library.catalogue import load_catalogue

    summary = LibrarySummary(str(root))
    try:
        cat = load_catalogue(csv)
    except ImaginariumError as exc:
        summary.error, summary.fix = exc.message, exc.fix
        return summary
    summary.ok = True
    summary.assets = len(cat.assets)
    summary.excluded = len(cat.excluded)
    summary.problems = len(cat.problems)
    summary.classes = len({a.class_name for a in cat.assets.values()})
    summary.first_problems = [str(p) for p in cat.problems[:3]]
    summary.derived_built = (root / "derived").is_dir() and any((root / "derived").iterdir())
    return summary
