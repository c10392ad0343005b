"""Library section: the folder, how many assets it has, whether its derived data is built."""
from __future__ import annotations

import bpy

from ..imaginarium_addon import library_info, runs


class IMAGINARIUM_PT_library(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Imaginarium"
    bl_label = "Library"
    bl_order = 4
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        summary = library_info.summarise(runs.library_dir())
        layout.label(text=summary.path or "No library set", icon="ASSET_MANAGER")
        if summary.error:
            box = layout.box()
            box.alert = True
            box.label(text=summary.error, icon="ERROR")
            box.label(text=f"Fix: {summary.fix}")
        else:
            layout.label(text=f"{summary.assets} assets, {summary.classes} classes, {summary.excluded} excluded")
            if summary.problems:
                layout.label(text=f"{summary.problems} rows could not be used", icon="INFO")
                for line in summary.first_problems:
                    layout.label(text=line)
            layout.label(text="Derived data: " + ("built" if summary.derived_built else "not built"),
                         icon="CHECKMARK" if summary.derived_built else "INFO")
        row = layout.row(align=True)
        row.operator("imaginarium.refresh_library", icon="FILE_REFRESH")
        row.operator("imaginarium.build_library", icon="RENDER_STILL")


CLASSES = [IMAGINARIUM_PT_library]
