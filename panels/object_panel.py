"""Selected object section: what it is, what holds it, its candidate assets, swap, pin, re-optimise around it."""
from __future__ import annotations

import bpy

from ..imaginarium_addon import layout_props as lp
from ..imaginarium_addon import layout_session


class IMAGINARIUM_PT_selected_object(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Imaginarium"
    bl_label = "Selected Object"
    bl_order = 3

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        obj = context.active_object
        if obj is None or obj.get(lp.ROLE) != "object":
            layout.label(text="Select an object of an Imaginarium room", icon="INFO")
            return
        d = layout_session.object_details(obj)
        col = layout.column(align=True)
        col.label(text=f"{d['label'] or d['object_id']}  ({d['object_id']})", icon="OBJECT_DATA")
        if d["group"]:
            col.label(text=f"Group: {d['group']}")
        col.label(text=f"Rests on: {d['support']} ({d['relation']})")
        pinned = bool(obj.get(lp.PINNED, False))
        layout.operator("imaginarium.toggle_pin", text="Unpin" if pinned else "Pin",
                        icon="PINNED" if pinned else "UNPINNED")
        candidates = layout_session.candidates_of(obj)
        box = layout.box()
        box.label(text=f"Candidate assets ({len(candidates)})")
        current = d["asset_id"]
        for c in candidates:
            row = box.row()
            score = c.get("score")
            text = f"{c['asset_id']}" + (f"  {score:.2f}" if isinstance(score, (int, float)) else "")
            if c["asset_id"] == current:
                row.label(text=text, icon="CHECKMARK")
            else:
                row.operator("imaginarium.swap_asset", text=text).asset_id = c["asset_id"]
        layout.operator("imaginarium.swap_asset", text="Swap to Next", icon="FILE_REFRESH").asset_id = ""
        layout.operator("imaginarium.reoptimise_around", icon="SNAP_ON")


CLASSES = [IMAGINARIUM_PT_selected_object]
