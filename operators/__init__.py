"""One module per user action; this file only collects their classes for registration."""
from __future__ import annotations

import bpy

from . import worker_ops

CLASSES: list[type] = [*worker_ops.CLASSES]


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
