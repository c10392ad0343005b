"""The asset catalogue: published CSV rows resolved to usable :class:`AssetRecord` objects.

``load_catalogue`` accepts the CSV itself or the library folder holding it. A row becomes a
record only when everything the pipeline needs is there (id, name, class, a valid ``bbx``,
a known scaling strategy, an asset file when the asset folder exists). Every other row is
kept in ``problems`` with its line number and reason — never dropped silently — and rows
marked ``state = abort`` go to ``excluded``. Usable rows with a minor issue (no English
caption, an unreadable inner-space file) are kept and the issue goes to ``warnings``.

Layout of a library folder (the published one)::

    imaginarium_asset_info.csv
    imaginarium_assets/<name_en>.blend|.fbx|.glb|.gltf|.obj   (or <name_en>/<name_en>.<ext>)
    imaginarium_assets_internal_placement_space/<name_en>.json
    background_texture_dataset/{floor,wall,ceiling}/...
    derived/                                                   (our FeatureStore)

Inner placement spaces are a JSON list of ``{name, transform_matrix, scale_ratio}``:
``transform_matrix`` is a 4x4 in the asset frame whose translation is the bottom centre of
the space (a shelf board's top face) and ``scale_ratio`` its size as fractions of the
asset's ``bbx``. Stdlib only: this runs in Blender's process too.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LibraryError, SchemaError
from ..schema import SCALING_STRATEGIES, AssetRecord, InnerSpace
from .csvformat import COLUMNS, RowError, parse_bbx, parse_flag, read_rows, write_catalogue

__all__ = ["CSV_NAME", "ASSETS_DIR", "INNER_DIR", "ASSET_EXTENSIONS", "Problem", "Catalogue", "load_catalogue",
           "write_catalogue", "COLUMNS", "resolve_csv"]

CSV_NAME = "imaginarium_asset_info.csv"
ASSETS_DIR = "imaginarium_assets"
INNER_DIR = "imaginarium_assets_internal_placement_space"
ASSET_EXTENSIONS = (".blend", ".fbx", ".glb", ".gltf", ".obj")  # preference order


@dataclass
class Problem:
    """One catalogue row that could not be used as is: where, which asset, and why."""

    row: int
    id: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "id": self.id, "reason": self.reason}


@dataclass
class Catalogue:
    """Usable assets by id, plus everything that was not usable and why."""

    library_dir: Path
    csv_path: Path
    assets: dict[str, AssetRecord] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    excluded: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    assets_folder_found: bool = True
    portfolio: set[str] = field(default_factory=set)  # ids of composite assets (portfolio_assets = 1)

    def classes(self) -> list[str]:
        return sorted({a.class_name for a in self.assets.values()})

    def retrieval_classes(self) -> list[str]:
        return sorted({a.retrieval_class for a in self.assets.values()})

    def by_retrieval_class(self, name: str) -> list[AssetRecord]:
        return [a for a in self.assets.values() if a.retrieval_class == name]

    def is_composite(self, asset_id: str) -> bool:
        """A composite ("portfolio") asset already holds its parts: a desk with its monitor, a bed with pillows."""
        return asset_id in self.portfolio

    def get(self, asset_id: str) -> AssetRecord:
        try:
            return self.assets[asset_id]
        except KeyError:
            raise LibraryError(f"Asset {asset_id!r} is not a usable asset of {self.csv_path}.",
                               "Pick an id listed by `python -m core library info`, or fix that row.") from None

    def summary(self) -> dict[str, Any]:
        """The JSON that ``python -m core library info`` prints."""
        return {
            "library_dir": str(self.library_dir),
            "csv": str(self.csv_path),
            "assets": len(self.assets),
            "excluded": len(self.excluded),
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [p.to_dict() for p in self.warnings],
            "excluded_ids": [p.id for p in self.excluded],
            "classes": self.classes(),
            "retrieval_classes": self.retrieval_classes(),
            "with_inner_spaces": sum(1 for a in self.assets.values() if a.inner_spaces),
            "composite_assets": len(self.portfolio),
            "flat_assets": sum(1 for a in self.assets.values() if min(a.size) == 0),
            "assets_folder_found": self.assets_folder_found,
        }


def resolve_csv(csv_or_library_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(csv path, library folder) from either one; LibraryError with the fix when neither exists."""
    path = Path(csv_or_library_dir).expanduser()
    if path.is_dir():
        csv_path = path / CSV_NAME
        if not csv_path.is_file():
            raise LibraryError(f"{path} has no {CSV_NAME}.")
        return csv_path.resolve(), path.resolve()
    if path.is_file():
        return path.resolve(), path.resolve().parent
    raise LibraryError(f"Asset library {path} does not exist.")


def load_catalogue(csv_or_library_dir: str | os.PathLike[str]) -> Catalogue:
    """Read the catalogue and resolve every row; see the module docstring for the rules."""
    csv_path, library_dir = resolve_csv(csv_or_library_dir)
    assets_dir = library_dir / ASSETS_DIR
    files = _index_asset_files(assets_dir)
    cat = Catalogue(library_dir=library_dir, csv_path=csv_path, assets_folder_found=assets_dir.is_dir())
    inner_dir = library_dir / INNER_DIR
    for line, row in read_rows(csv_path):
        ident = (row.get("id") or "").strip()
        if not ident:
            cat.problems.append(Problem(line, "", "the id column is empty"))
            continue
        if ident in cat.rows or any(p.id == ident for p in cat.excluded):
            cat.problems.append(Problem(line, ident, "duplicate id (the first row with it is kept)"))
            continue
        cat.rows[ident] = row
        if (row.get("state") or "").strip().lower() == "abort":
            cat.excluded.append(Problem(line, ident, "state = abort"))
            continue
        try:
            cat.assets[ident] = _record(row, ident, files, cat.assets_folder_found, inner_dir,
                                        lambda reason: cat.warnings.append(Problem(line, ident, reason)))
        except (RowError, SchemaError) as exc:
            cat.problems.append(Problem(line, ident, exc.message if isinstance(exc, SchemaError) else str(exc)))
            continue
        try:
            if parse_flag("portfolio_assets", row.get("portfolio_assets")):
                cat.portfolio.add(ident)
        except RowError as exc:
            cat.warnings.append(Problem(line, ident, f"{exc}; the asset is treated as a single object"))
    return cat


def _record(row: dict[str, str], ident: str, files: dict[str, list[Path]], folder_found: bool, inner_dir: Path,
            warn: Any) -> AssetRecord:
    if "__extra__" in row:
        raise RowError("the row has more cells than the header (an unquoted comma in a caption?)")
    name = (row.get("name_en") or "").strip()
    if not name:
        raise RowError("name_en is empty (it names the asset file)")
    class_name = (row.get("class_en") or "").strip()
    if not class_name:
        raise RowError("class_en is empty")
    retrieval = (row.get("retrieval_class_en") or "").strip()
    if not retrieval:
        warn("retrieval_class_en is empty; class_en is used for retrieval")
        retrieval = class_name
    size = parse_bbx(row.get("bbx", ""))
    strategy = (row.get("scaling_strategy") or "").strip().upper()
    if not strategy:
        warn("scaling_strategy is empty; ISOTROPIC is used")
        strategy = "ISOTROPIC"
    if strategy not in SCALING_STRATEGIES:
        raise RowError(f"scaling_strategy = {row.get('scaling_strategy')!r} is not one of "
                       + ", ".join(SCALING_STRATEGIES))
    align = parse_flag("alignToWallNormal", row.get("alignToWallNormal"))
    wants_inner = parse_flag("inner_placement", row.get("inner_placement"))
    path = None
    if folder_found:
        found = files.get(name.lower())
        if not found:
            raise RowError(f"no asset file {ASSETS_DIR}/{name}" + "{" + ",".join(ASSET_EXTENSIONS) + "}")
        path = str(found[0])
    caption = (row.get("caption_en") or "").strip()
    if not caption:
        caption = (row.get("caption_cn") or "").strip()
        warn("caption_en is empty" + ("; caption_cn is used" if caption else ""))
    spaces = _inner_spaces(inner_dir / f"{name}.json", wants_inner, warn)
    return AssetRecord(id=ident, name=name, class_name=class_name, retrieval_class=retrieval, size=size,
                       scaling_strategy=strategy, align_to_wall_normal=align, caption=caption, path=path,
                       inner_spaces=spaces)


def _inner_spaces(path: Path, wanted: bool, warn: Any) -> list[InnerSpace]:
    if not path.is_file():
        if wanted:
            warn(f"inner_placement = 1 but {INNER_DIR}/{path.name} is missing; no inner spaces")
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        if isinstance(data, dict):  # tolerate {"spaces": [...]} or {name: {...}}
            data = data.get("spaces", [dict(v, name=k) for k, v in data.items() if isinstance(v, dict)])
        return [InnerSpace(name=str(d.get("name") or f"space_{i}"), transform=d["transform_matrix"],
                           scale_ratio=d["scale_ratio"]) for i, d in enumerate(data)]
    except (ValueError, KeyError, TypeError, AttributeError, SchemaError) as exc:
        reason = exc.message if isinstance(exc, SchemaError) else f"{type(exc).__name__}: {exc}"
        warn(f"{INNER_DIR}/{path.name} is unreadable ({reason}); no inner spaces")
        return []


def _index_asset_files(folder: Path) -> dict[str, list[Path]]:
    """name (lower case) → asset files, best format first; one directory walk for thousands of assets."""
    out: dict[str, list[Path]] = {}
    if not folder.is_dir():
        return out
    rank = {ext: i for i, ext in enumerate(ASSET_EXTENSIONS)}
    for entry in os.scandir(folder):
        candidates = []
        if entry.is_file():
            candidates.append(Path(entry.path))
        elif entry.is_dir():  # <name>/<name>.<ext>, as some archives unpack
            candidates.extend(Path(e.path) for e in os.scandir(entry.path) if e.is_file()
                              and Path(e.name).stem.lower() == entry.name.lower())
        for p in candidates:
            if p.suffix.lower() in rank:
                out.setdefault(p.stem.lower(), []).append(p.resolve())
    for paths in out.values():
        paths.sort(key=lambda p: rank[p.suffix.lower()])
    return out
