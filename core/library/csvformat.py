"""The published Imaginarium catalogue format (``imaginarium_asset_info.csv``), read and written as is.

Why a module of its own: the real file has quirks a plain ``csv.DictReader`` call gets wrong
(a UTF-8 byte-order mark glued to ``id``, captions with line breaks inside quoted fields,
flags written ``1``/``0``/``0.0``/empty, ``bbx`` as ``"x,y,z"`` metres with one axis 0 for
flat assets). Everything here is stdlib only because it also runs in Blender's process.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..errors import LibraryError

COLUMNS = ("id", "name_en", "bbx", "caption_cn", "caption_en", "class_cn", "class_en", "retrieval_class_cn",
           "retrieval_class_en", "picture", "scaling_strategy", "inner_placement", "portfolio_assets", "source",
           "author_name", "author_link", "license", "state", "alignToWallNormal")
REQUIRED = ("id", "name_en", "bbx", "class_en")
TRUE_FLAGS = {"1", "1.0", "true", "yes", "y", "t"}
FALSE_FLAGS = {"", "0", "0.0", "false", "no", "n", "f", "nan", "none"}


class RowError(ValueError):
    """A value in one row cannot be used; the message is the reason reported to the user."""


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number where the row starts, row dict) for every data row.

    The BOM is stripped by the ``utf-8-sig`` codec; quoted multi-line fields are kept whole
    by the csv module (``newline=""``). Header names are stripped of spaces. Missing
    required columns raise :class:`LibraryError` naming them.
    """
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise LibraryError(f"Catalogue {path} does not exist.") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        except StopIteration:
            raise LibraryError(f"Catalogue {path} is empty.", "Write the header row: " + ",".join(COLUMNS)) from None
        except UnicodeDecodeError as exc:
            raise LibraryError(f"Catalogue {path} is not UTF-8 ({exc.reason}).",
                               "Re-save the CSV as UTF-8 (with or without BOM).") from None
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise LibraryError(f"Catalogue {path} lacks the column(s) {', '.join(missing)}.",
                               "Use the published header: " + ",".join(COLUMNS))
        start = reader.line_num + 1
        try:
            for values in reader:
                if not any(v.strip() for v in values):
                    start = reader.line_num + 1
                    continue
                row = {name: (values[i] if i < len(values) else "") for i, name in enumerate(header)}
                if len(values) > len(header):
                    row["__extra__"] = ",".join(values[len(header):])
                yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise LibraryError(f"Catalogue {path} is malformed near line {reader.line_num}: {exc}.",
                               "Check the quotes around captions on that line.") from None
        except UnicodeDecodeError as exc:
            raise LibraryError(f"Catalogue {path} is not UTF-8 ({exc.reason}).",
                               "Re-save the CSV as UTF-8 (with or without BOM).") from None


def parse_flag(name: str, value: Any) -> bool:
    """``1``, ``1.0``, ``true`` → True; ``0``, ``0.0``, empty → False; anything else is a row error."""
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_FLAGS:
        return True
    if text in FALSE_FLAGS:
        return False
    raise RowError(f"{name} = {value!r} is not a flag (write 1, 0 or leave it empty)")


def parse_bbx(value: str) -> tuple[float, float, float]:
    """``"x,y,z"`` metres (brackets and spaces tolerated); one axis may be 0 for flat assets."""
    text = str(value or "").strip().strip("[]()").strip()
    parts = [p for p in text.replace(";", ",").split(",") if p.strip()] if text else []
    if len(parts) != 3:
        raise RowError(f"bbx = {value!r} must be three sizes in metres, \"x,y,z\"")
    try:
        size = tuple(float(p) for p in parts)
    except ValueError:
        raise RowError(f"bbx = {value!r} has a value that is not a number") from None
    if any(s != s or s < 0 or s == float("inf") for s in size):
        raise RowError(f"bbx = {value!r} must be finite and not negative")
    if sum(1 for s in size if s > 0) < 2:
        raise RowError(f"bbx = {value!r}: at most one axis may be 0 (flat assets)")
    return size  # type: ignore[return-value]


def format_bbx(size: Iterable[float]) -> str:
    return ",".join(f"{float(s):.4f}".rstrip("0").rstrip(".") if float(s) else "0" for s in size)


def format_flag(value: bool) -> str:
    return "1" if value else "0"


def write_catalogue(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write rows in the published format: BOM, the published column order, minimal quoting.

    Values that are not strings are converted (bools to ``1``/``0``, a 3-sequence ``bbx`` to
    ``"x,y,z"``). Unknown keys are an error so a typo never vanishes silently. The file is
    written to a temporary name and renamed, so a reader never sees half a catalogue.
    """
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(COLUMNS)
    for index, row in enumerate(rows):
        unknown = sorted(k for k in set(row) - set(COLUMNS) if not k.startswith("__"))  # "__extra__": overflow cells
        if unknown:
            raise LibraryError(f"Catalogue row {index} has unknown column(s) {', '.join(unknown)}.",
                               "Use only the published columns: " + ",".join(COLUMNS))
        writer.writerow([_cell(name, row.get(name, "")) for name in COLUMNS])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".catalogue-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(buffer.getvalue())
    os.replace(tmp, path)
    return path


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return format_flag(value)
    if name == "bbx" and not isinstance(value, str):
        return format_bbx(value)
    return str(value)
