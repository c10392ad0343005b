"""Library actions: re-read the catalogue."""
from __future__ import annotations

import bpy

from ..imaginarium_addon import library_info, runs


class IMAGINARIUM_OT_refresh_library(bpy.types.Operator):
    """Read the asset library's catalogue again (after you added assets or changed the folder)"""

    bl_idname = "imaginarium.refresh_library"
    bl_label = "Refresh Library"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if runs.library_dir() is None:
            cls.poll_message_set("Set the asset library folder in the add-on preferences")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        library_info.forget()
        summary = library_info.summarise(runs.library_dir())
        if summary.error:
            self.report({"ERROR"}, f"{summary.error} Fix: {summary.fix}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"{summary.assets} assets in {summary.classes} classes")
        return {"FINISHED"}


CLASSES = [IMAGINARIUM_OT_refresh_library]
