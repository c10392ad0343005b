"""The "Imaginarium" tab of the 3D viewport's sidebar; this file only registers the panels."""
from __future__ import annotations

import bpy

from . import from_image_panel, generate_panel, layout_panel, library_panel, object_panel, status_panel

MODULES = [generate_panel, from_image_panel, layout_panel, object_panel, library_panel, status_panel]
CLASSES: list[type] = [cls for module in MODULES for cls in module.CLASSES]


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
