"""From image section: the image (or a generated one), field of view, optional depth and detections, run."""
from __future__ import annotations

import bpy


class IMAGINARIUM_PT_from_image(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Imaginarium"
    bl_label = "From Image"
    bl_order = 1

    def draw(self, context: bpy.types.Context) -> None:
        s = context.scene.imaginarium
        layout = self.layout
        layout.prop(s, "image_path")
        layout.prop(s, "fov_deg")
        col = layout.column(align=True)
        col.label(text="Optional inputs:")
        col.prop(s, "depth_path")
        col.prop(s, "detections_path")
        layout.operator("imaginarium.run_from_image", icon="SCENE_DATA")
        if s.last_run_dir:
            layout.label(text=f"Run folder: {bpy.path.basename(s.last_run_dir.rstrip('/'))}", icon="FILE_FOLDER")


CLASSES = [IMAGINARIUM_PT_from_image]
