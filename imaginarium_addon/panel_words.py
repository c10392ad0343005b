"""Error texts in the words of the panel: the pipeline's fixes name command-line flags; the artist has fields.

Why a translation at the edge instead of two fixes per error: the same typed error is raised by
the command line and by the worker behind a button, and the core must not know which. The Status
section and operator reports pass every message through :func:`in_panel_words`, so "Check the
--depth path" reads "Check the Depth map (From Image) path" where the artist looks.
"""
from __future__ import annotations

import re

from ..core.errors import ImaginariumError

# flag (with an optional upper-case placeholder after it) → what the artist sees instead
PANEL_WORDS: dict[str, str] = {
    "--depth": "the Depth map (From Image)",
    "--detections": "the Detections file (From Image)",
    "--fov": "the Field of view (From Image)",
    "--intrinsics": "the Field of view (From Image)",
    "--out": "the Runs folder (Preferences → Imaginarium)",
    "--library": "the Asset library (Preferences → Imaginarium)",
    "--clean": "a fresh run (delete the run folder, then Build Room From Image)",
    "--labels": "the detector labels",
    "--python": "the Worker Python (Preferences → Imaginarium)",
    "--config": "the add-on preferences",
}
# fixes written for both places keep only the Blender half
_BOTH = [(re.compile(r"([^;()]*?) on the command line; ([^()]*?) in Blender"), r"\2"),
         (re.compile(r"`?python -m core [^,`]*`?, or ([^)]*?) in Blender"), r"\1")]
_FLAG = re.compile(r"(?:\bthe )?(`?python -m core [a-z_]+[^`,;.)]*`?)|(?:\bthe )?(--[a-z][a-z-]*)(?:[ =]([A-Z][A-Z_]*)\b)?")


def _replace(match: re.Match[str]) -> str:
    if match.group(1):  # a whole command line: in Blender, the button is the command
        return "Build Room From Image (From Image)"
    return PANEL_WORDS.get(match.group(2), "the matching setting in the Imaginarium panel or preferences")


def in_panel_words(text: str) -> str:
    """``text`` with every command-line flag and command replaced by the panel's own names."""
    text = text or ""
    for pattern, keep in _BOTH:
        text = pattern.sub(keep, text)
    return _FLAG.sub(_replace, text)


def for_panel(error: ImaginariumError) -> tuple[str, str]:
    """The error's message and fix as the Status section shows them."""
    return in_panel_words(error.message), in_panel_words(error.fix)
