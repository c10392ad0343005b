"""The "Imaginarium" tab of the 3D viewport's sidebar; this file only registers the panels."""
from __future__ import annotations

import bpy

from . import status_panel

CLASSES: list[type] = [*status_panel.CLASSES]


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
