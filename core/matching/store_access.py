"""The few entry points matching (and perception's label choice) use from the library package, in one place.

Why: the library package (catalogue, vocabulary, textures, FeatureStore) is written
separately; keeping every call into it here means a change there is fixed here once, and a
library that cannot be opened fails with one clear LibraryError naming the folder.

:func:`library_vocabulary` is the one place a library's :class:`~core.library.vocabulary.Vocabulary`
is built for the pipeline (perception chooses detector labels and class sizes with it, matching
ranks with it, composites read it), so all stages map a label to the same class.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

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
    cat, notes = load_library_catalogue(library_dir)
    return dict(cat.assets), notes


def load_library_catalogue(library_dir: str | Path) -> tuple[Any, list[str]]:
    """The library's Catalogue, and notes about rows it rejected."""
    from ..library.catalogue import load_catalogue

    cat = load_catalogue(library_root(library_dir))
    notes = [f"catalogue: {len(cat.problems)} row(s) unusable (see the catalogue check)."] if cat.problems else []
    return cat, notes


_ENCODERS: dict[str, Any] = {}  # text-model folder → loaded similarity (kept warm in the worker)


def text_similarity(settings: Any) -> tuple[Any, list[str]]:
    """``retrieval.text_model`` as a text similarity for the vocabulary (None: the weight-free one), and a note."""
    name = str(getattr(settings.retrieval, "text_model", "") or "").strip()
    if not name:
        return None, []
    direct = Path(name).expanduser()
    folder = direct if direct.is_dir() else settings.resolve_path(settings.paths.weights_dir) / name
    if str(folder) not in _ENCODERS:
        from ..library.text_match import load_text_encoder

        _ENCODERS[str(folder)] = load_text_encoder(folder) if folder.is_dir() else None
    found = _ENCODERS[str(folder)]
    if found is None:
        return None, [f"retrieval.text_model: no text model at {folder} (needs config.json and weights); labels "
                      "are mapped to library classes by the weight-free text similarity"]
    return found, []


def library_vocabulary(catalogue: Any, settings: Any = None) -> tuple[Any, list[str]]:
    """The vocabulary of a loaded Catalogue (or ``{id: AssetRecord}``), with the settings' text model; and notes."""
    from ..library.vocabulary import Vocabulary

    similarity, notes = text_similarity(settings) if settings is not None else (None, [])
    if hasattr(catalogue, "rows") and hasattr(catalogue, "csv_path"):
        return Vocabulary.from_catalogue(catalogue, similarity=similarity), notes
    assets = getattr(catalogue, "assets", catalogue)
    return Vocabulary.from_records(assets.values(), similarity=similarity, source="library records"), notes



def load_textures(library_dir: str | Path) -> tuple[list[Any], list[str]]:
    """Background textures of the library, and a note when it has none (textures are optional)."""
    from ..library.textures import load_textures as _load

    try:
        return list(_load(library_root(library_dir))), []
    except LibraryError as exc:
        return [], [f"textures: none chosen ({exc.message})"]
