"""Layout section: re-optimise all / selected, settle, look at the room (preview, conflicts), and the metrics."""
from __future__ import annotations

import json

import bpy

METRIC_LABELS = [("colliding_pairs", "Colliding pairs"), ("objects_inside_others", "Objects inside others"),
                 ("floating_objects", "Floating objects"), ("objects_outside_room", "Outside the room"),
                 ("wall_distance_m", "Wall distance error (m)"), ("wall_angle_deg", "Wall angle error (°)")]


class IMAGINARIUM_PT_layout(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Imaginarium"
    bl_label = "Layout"
    bl_order = 2

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(context.scene.imaginarium, "pin_edited")
        row = layout.row(align=True)
        row.operator("imaginarium.reoptimise", text="Re-optimise All", icon="FILE_REFRESH").selected_only = False
        row.operator("imaginarium.reoptimise", text="Selected", icon="RESTRICT_SELECT_OFF").selected_only = True
        layout.operator("imaginarium.settle", icon="PHYSICS")
        layout.operator("imaginarium.show_metrics", icon="INFO")
        layout.prop(context.scene.imaginarium, "use_reference_camera")
        row = layout.row(align=True)
        row.operator("imaginarium.render_preview", icon="RENDER_STILL")
        row.operator("imaginarium.match_exposure", text="", icon="LIGHT_SUN")
        _draw_conflicts(layout, context)
        raw = context.window_manager.imaginarium_status.metrics_json
        if raw:
            metrics = json.loads(raw)
            box = layout.box()
            shown = [(label, metrics[key]) for key, label in METRIC_LABELS if key in metrics]
            for key, value in metrics.items():  # any metric the registry adds shows too
                if key not in dict(METRIC_LABELS) and key != "objects":
                    shown.append((key.replace("_", " "), value))
            for label, value in shown:
                box.label(text=f"{label}: {value:.3g}" if isinstance(value, float) else f"{label}: {value}")


def _draw_conflicts(layout: bpy.types.UILayout, context: bpy.types.Context) -> None:
    """The artist's objects the room swallowed, each said once, and one button to hide them."""
    from ..imaginarium_addon import scene_conflicts
    from ..imaginarium_addon.run_state import active_run

    coll = active_run(context)
    conflicts = scene_conflicts.recorded(coll) if coll is not None else []
    if not conflicts:
        return
    box = layout.box()
    for c in conflicts[:6]:
        box.label(text=c["message"], icon="ERROR")
    if len(conflicts) > 6:
        box.label(text=f"… and {len(conflicts) - 6} more")
    box.operator("imaginarium.hide_conflicts", icon="HIDE_ON")


CLASSES = [IMAGINARIUM_PT_layout]
