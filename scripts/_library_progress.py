"""A progress bar: tqdm when installed, else a plain line per step on stderr.

Why: the library scripts also run inside the Blender app (`blender -b -P …`), whose bundled
Python has numpy but not tqdm.
"""
from __future__ import annotations

import sys
from typing import Any, Iterable

try:
    from tqdm import tqdm as _tqdm
except ImportError:  # Blender's bundled Python
    _tqdm = None


class _Plain:
    def __init__(self, iterable: Iterable[Any] | None = None, total: int | None = None, desc: str = "", **_: Any):
        self.iterable, self.total, self.desc, self.n = iterable, total, desc, 0
        if self.total is None and iterable is not None and hasattr(iterable, "__len__"):
            self.total = len(iterable)  # type: ignore[arg-type]

    def __iter__(self):
        for item in self.iterable or ():
            yield item
            self.update(1)

    def update(self, n: int = 1) -> None:
        self.n += n
        print(f"{self.desc}: {self.n}/{self.total}", file=sys.stderr, flush=True)

    def __enter__(self) -> "_Plain":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    @staticmethod
    def write(text: str, file: Any = None) -> None:
        print(text, file=file or sys.stderr, flush=True)


progress = _tqdm if _tqdm is not None else _Plain
