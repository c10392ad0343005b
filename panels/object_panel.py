"""Selected object: what it is and what holds it, candidates (swap), pin, re-optimise, removed objects (restore)."""
from __future__ import annotations

import bpy

from ..imaginarium_addon import layout_props as lp
from ..imaginarium_addon import layout_session
from ..imaginarium_addon.run_state import removed_in_run


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
        if d["notes"]:
            notes = layout.box()
            notes.label(text="Notes", icon="INFO")
            for note in d["notes"].splitlines():
                notes.label(text=note[:120])
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
        _draw_removed(layout, layout_session.run_collection_of(obj))


def _draw_removed(layout: bpy.types.UILayout, coll: bpy.types.Collection | None) -> None:
    """The run's objects that are kept but not placed, each with why and a Restore button."""
    removed = removed_in_run(coll)
    if not removed:
        return
    box = layout.box()
    box.label(text=f"Removed objects ({len(removed)})", icon="TRASH")
    for r in removed:
        row = box.row()
        row.label(text=f"{r['label']} ({r['object_id']})")
        op = row.operator("imaginarium.restore_object", text="Restore", icon="LOOP_BACK")
        op.run_id, op.object_id = str(coll[lp.RUN_ID]), r["object_id"]
        box.label(text=r["reason"][:90])


CLASSES = [IMAGINARIUM_PT_selected_object]
