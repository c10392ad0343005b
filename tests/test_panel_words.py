"""Errors shown in the panel speak the panel's language: no command-line flag reaches the Status section."""
from __future__ import annotations

import ast
import re

from imaginarium.imaginarium_addon.panel_words import PANEL_WORDS, in_panel_words
from tests.conftest import ROOT

# flags that only command-line tools mention (their errors never come from a panel button)
CLI_ONLY = {"--workers", "--address", "--render", "--blend", "--embedder", "--force", "--width", "--height",
            "--samples", "--views", "--resolution", "--top-k", "--text-model", "--strict", "--store", "--run",
            "--quiet", "--no-progress", "--no-patches", "--no-embed", "--help", "--head", "--for-lora", "--explain",
            "--effective", "--commit-every", "--timeout", "--no-fit", "--factory-startup", "--blender"}
REACHABLE = ["core/perception", "core/matching", "core/layout", "core/library", "core/geometry", "core/models",
             "core/pipeline.py", "core/runfolder.py", "core/errors.py", "core/config.py"]


def _strings() -> list[str]:
    out = []
    for place in REACHABLE:
        base = ROOT / place
        for path in ([base] if base.is_file() else sorted(base.rglob("*.py"))):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and "--" in node.value:
                    out.append(node.value)
    return out


def test_every_flag_an_error_can_name_has_panel_words() -> None:
    flags = {f for s in _strings() for f in re.findall(r"--[a-z][a-z-]*", s)}
    missing = flags - set(PANEL_WORDS) - CLI_ONLY
    assert not missing, f"add these to PANEL_WORDS (or CLI_ONLY if no panel button can raise them): {missing}"


def test_translated_texts_name_no_flags_and_keep_the_blender_half() -> None:
    for text in _strings():
        assert not re.search(r"--(depth|detections|out|library|fov|intrinsics|clean)\b", in_panel_words(text)), text
    assert in_panel_words("Check the --depth path.") == "Check the Depth map (From Image) path."
    both = "Give a run folder you can write to (--out on the command line; Preferences → Runs folder in Blender)."
    assert in_panel_words(both) == "Give a run folder you can write to (Preferences → Runs folder)."
    assert "python -m core" not in in_panel_words("Run `python -m core room IMG --library L` first.")


def test_every_model_of_the_registry_has_its_preference() -> None:
    """The Models section shows each model's own setting; one added to the registry needs one here too."""
    import ast as _ast

    from imaginarium.core.models.registry import BY_KEY

    source = (ROOT / "imaginarium_addon" / "preferences.py").read_text(encoding="utf-8")
    table = next(n.value for n in _ast.walk(_ast.parse(source)) if isinstance(n, _ast.Assign)
                 and any(getattr(t, "id", "") == "_MODEL_PROPS" for t in n.targets))
    keys = {k.value for k in table.keys}
    assert keys == set(BY_KEY), (keys, set(BY_KEY))
