"""Load the repository root as the package ``imaginarium`` for scripts that run under bpy.

The add-on's runtime uses relative imports (``..core``) because inside Blender it lives at
``bl_ext.<repo>.imaginarium``; scripts run from a checkout get the same package shape this way.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load() -> ModuleType:
    if "imaginarium" in sys.modules:
        return sys.modules["imaginarium"]
    spec = importlib.util.spec_from_file_location("imaginarium", ROOT / "__init__.py",
                                                  submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["imaginarium"] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module
