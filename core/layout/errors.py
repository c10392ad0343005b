"""The layout stage's typed error (a subclass of the project's base, so the worker carries it across)."""
from __future__ import annotations

from ..errors import ImaginariumError


class LayoutError(ImaginariumError):
    """A layout problem cannot be built or solved from the given inputs."""

    default_fix = "Re-run matching so every object has a candidate asset, or fix the named object in the JSON."
