"""A stand-in for ``bpy.types.UILayout`` that records a panel's draw and checks it against Blender's RNA.

Background bpy has no windows, so a real UILayout cannot be made. This recorder accepts the
calls panels make and validates what Blender would: ``prop`` names a real property of its data,
``operator`` names a registered operator, ``label``/``operator`` icons are real icon names.
A typo in a panel therefore fails the test instead of passing silently.
"""
from __future__ import annotations

from typing import Any

import bpy

_ICONS = set(bpy.types.UILayout.bl_rna.functions["label"].parameters["icon"].enum_items.keys())


class DrawError(AssertionError):
    pass


class RecordingLayout:
    def __init__(self, calls: list[tuple[str, Any]] | None = None) -> None:
        self.calls = [] if calls is None else calls
        self.alert = False
        self.enabled = True
        self.active = True
        self.use_property_split = False
        self.use_property_decorate = True
        self.scale_y = 1.0

    # containers
    def _child(self, kind: str) -> "RecordingLayout":
        self.calls.append((kind, None))
        return RecordingLayout(self.calls)

    def row(self, **_: Any) -> "RecordingLayout":
        return self._child("row")

    def column(self, **_: Any) -> "RecordingLayout":
        return self._child("column")

    def box(self) -> "RecordingLayout":
        return self._child("box")

    def split(self, **_: Any) -> "RecordingLayout":
        return self._child("split")

    def grid_flow(self, **_: Any) -> "RecordingLayout":
        return self._child("grid_flow")

    def separator(self, **_: Any) -> None:
        self.calls.append(("separator", None))

    # leaves
    def label(self, text: str = "", icon: str = "NONE", icon_value: int = 0, **_: Any) -> None:
        _check_icon(icon)
        self.calls.append(("label", text))

    def prop(self, data: Any, name: str, **kw: Any) -> None:
        rna = getattr(data, "bl_rna", None)
        if rna is None or name not in rna.properties:
            raise DrawError(f"prop(): {type(data).__name__} has no property {name!r}")
        _check_icon(kw.get("icon", "NONE"))
        self.calls.append(("prop", name))

    def operator(self, idname: str, text: str | None = None, icon: str = "NONE", **_: Any) -> Any:
        _check_icon(icon)
        module, _, name = idname.partition(".")
        op = getattr(getattr(bpy.ops, module), name)
        try:
            rna = op.get_rna_type()
        except KeyError:
            raise DrawError(f"operator(): {idname} is not registered") from None
        self.calls.append(("operator", idname))
        return _OperatorProps(rna, idname)

    def progress(self, factor: float = 0.0, type: str = "BAR", text: str = "") -> None:
        if not 0.0 <= factor <= 1.0:
            raise DrawError(f"progress(): factor {factor} outside 0..1")
        self.calls.append(("progress", text))

    def template_icon(self, icon_value: int = 0, scale: float = 1.0) -> None:
        self.calls.append(("template_icon", icon_value))

    def template_list(self, *args: Any, **_: Any) -> None:
        self.calls.append(("template_list", args[0] if args else None))

    def texts(self) -> list[str]:
        return [str(v) for k, v in self.calls if k in ("label", "progress") and v]


class _OperatorProps:
    """What ``layout.operator()`` returns: setting an unknown property is an error, as in Blender."""

    def __init__(self, rna: Any, idname: str) -> None:
        object.__setattr__(self, "_rna", rna)
        object.__setattr__(self, "_idname", idname)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._rna.properties:
            raise DrawError(f"{self._idname} has no property {name!r}")


def _check_icon(icon: str) -> None:
    if icon not in _ICONS:
        raise DrawError(f"unknown icon {icon!r}")


def draw_panel(panel_cls: type, context: Any) -> RecordingLayout:
    """Run a panel's poll (if any) and draw with a recording layout; returns the recorder."""
    layout = RecordingLayout()

    class _Self:
        pass

    fake = _Self()
    fake.layout = layout  # type: ignore[attr-defined]
    if hasattr(panel_cls, "draw_header"):
        panel_cls.draw_header(fake, context)
    panel_cls.draw(fake, context)
    return layout
