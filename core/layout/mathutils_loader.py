"""The one place that finds Blender's ``mathutils`` (BVH trees live only there).

Inside Blender's process ``mathutils`` imports directly. In this project's venv it is part
of the ``bpy`` wheel and becomes importable only after ``import bpy``; the standalone PyPI
``mathutils`` has no ``bvhtree``. Nothing else in ``core.layout`` imports bpy.
"""
from __future__ import annotations

from types import ModuleType

from .errors import LayoutError

_CACHE: list[ModuleType] = []


def load_mathutils() -> ModuleType:
    """Return Blender's ``mathutils`` with ``bvhtree``, importing ``bpy`` first only when needed."""
    if _CACHE:
        return _CACHE[0]
    module = _try_import()
    if module is None:
        try:
            import bpy  # noqa: F401  (makes Blender's mathutils importable in a plain venv)
        except ImportError:
            raise LayoutError(
                "Blender's mathutils (with bvhtree) is not importable: the layout solver needs BVH trees.",
                "Run inside Blender 4.3, or in a Python 3.11 environment with `pip install bpy==4.3.0 \"numpy<2\"`.",
            ) from None
        module = _try_import()
    if module is None:
        raise LayoutError("mathutils was found but has no bvhtree (the standalone PyPI package is not enough).",
                          "Uninstall the PyPI `mathutils` package and use Blender's own (bpy==4.3.0).")
    _CACHE.append(module)
    return module


def _try_import() -> ModuleType | None:
    try:
        import mathutils
        from mathutils import bvhtree  # noqa: F401
    except ImportError:
        return None
    return mathutils
