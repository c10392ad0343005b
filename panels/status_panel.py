"""Status section: the current job, its progress, cancel, and the last error with its fix."""
from __future__ import annotations

import bpy

from ..imaginarium_addon import worker_runtime

MAX_NOTES_SHOWN = 12


class IMAGINARIUM_PT_status(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Imaginarium"
    bl_label = "Status"
    bl_order = 5

    def draw(self, context: bpy.types.Context) -> None:
        status = context.window_manager.imaginarium_status
        layout = self.layout
        layout.label(text=f"Worker: {status.worker_state}")
        if status.job_id:
            layout.label(text=status.job_label or "Working…")
            layout.progress(factor=status.progress, type="BAR", text=status.message or f"{status.progress:.0%}")
            layout.operator("imaginarium.cancel_job", icon="CANCEL")
        elif status.message:
            layout.label(text=status.message)
        _draw_notes(layout, worker_runtime.notes())
        if status.last_error:
            box = layout.box()
            box.alert = True
            box.label(text=status.last_error, icon="ERROR")
            box.label(text=f"Fix: {status.last_fix}")
        row = layout.row(align=True)
        row.operator("imaginarium.ping_worker", icon="PLAY")
        row.operator("imaginarium.stop_worker", icon="X")


def _draw_notes(layout: bpy.types.UILayout, notes: list[str]) -> None:
    """The last job's notes: every fallback and guess, so "done" never hides one."""
    if not notes:
        return
    box = layout.box()
    box.label(text=f"Notes ({len(notes)})", icon="INFO")
    col = box.column(align=True)
    for note in notes[:MAX_NOTES_SHOWN]:
        col.label(text=note[:120])
    if len(notes) > MAX_NOTES_SHOWN:
        col.label(text=f"… and {len(notes) - MAX_NOTES_SHOWN} more: select an object for its own notes, or read "
                       "the run folder's observation.json")


CLASSES = [IMAGINARIUM_PT_status]
