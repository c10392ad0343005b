"""The few entry points matching uses from the library package, in one place.

Why: the library package (catalogue, category map, textures, FeatureStore) is written
separately; keeping every call into it here means a change there is fixed here once, and a
library that cannot be opened fails with one clear LibraryError naming the folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import LibraryError


def library_root(library_dir: str | Path) -> Path:
    """The library folder, checked to exist."""
    root = Path(library_dir).expanduser()
    if not root.is_dir():
        raise LibraryError(f"The asset library folder {root} does not exist.")
    return root


def open_store(library_dir: str | Path) -> Any:
    """The library's FeatureStore (``<library>/derived``); LibraryError with the fix when it is missing."""
    from ..library.store import FeatureStore

    root = library_root(library_dir)
    return FeatureStore.open(root / "derived")


def load_assets(library_dir: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Usable catalogue records by id, and notes about rows the catalogue rejected."""
    from ..library.catalogue import load_catalogue

    cat = load_catalogue(library_root(library_dir))
    notes = [f"catalogue: {len(cat.problems)} row(s) unusable (see the catalogue check)."] if cat.problems else []
    return dict(cat.assets), notes


def classes_for(available: Sequence[str] | None = None) -> Callable[[str], Sequence[str]]:
    """The category map's label → retrieval classes function, limited to the library's classes when given."""
    from ..library.categories import retrieval_classes_for

    if available is None:
        return retrieval_classes_for
    classes = sorted(set(available))
    return lambda label: retrieval_classes_for(label, classes)


def load_textures(library_dir: str | Path) -> tuple[list[Any], list[str]]:
    """Background textures of the library, and a note when it has none (textures are optional)."""
    from ..library.textures import load_textures as _load

    try:
        return list(_load(library_root(library_dir))), []
    except LibraryError as exc:
        return [], [f"textures: none chosen ({exc.message})"]
