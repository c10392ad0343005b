"""One module per user action; this file only collects their classes for registration."""
from __future__ import annotations

import bpy

from . import (from_image, generate, layout_ops, library_ops, model_ops, object_ops, render_ops, worker_env_ops,
               worker_ops)

MODULES = [worker_ops, worker_env_ops, generate, from_image, layout_ops, object_ops, library_ops, render_ops,
           model_ops]
CLASSES: list[type] = [cls for module in MODULES for cls in module.CLASSES]


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    worker_env_ops.cancel()
    library_ops.cancel()
    model_ops.cancel()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
