"""The add-on's runtime inside Blender: preferences, properties, the worker client and its timer.

``ADDON_ID`` is the package Blender registered us under (``bl_ext.<repo>.imaginarium`` when
installed as an extension); preferences are looked up with it. Submodules that need bpy
are imported in :func:`register`, so :mod:`.worker_client` stays importable without bpy.
"""
from __future__ import annotations

from pathlib import Path

ADDON_ID = __package__.rsplit(".", 1)[0] if "." in __package__ else __package__
EXTENSION_ROOT = Path(__file__).resolve().parent.parent


def register() -> None:
    from . import preferences, properties, worker_runtime

    preferences.register()
    properties.register()
    worker_runtime.register()


def unregister() -> None:
    from . import preferences, properties, worker_runtime

    worker_runtime.unregister()
    properties.unregister()
    preferences.unregister()
