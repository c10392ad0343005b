"""Generate section: prompt and settings, thumbnails of the results, pick one."""
from __future__ import annotations

import os

import bpy


class IMAGINARIUM_PT_generate(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Imaginarium"
    bl_label = "Generate"
    bl_order = 0

    def draw(self, context: bpy.types.Context) -> None:
        s = context.scene.imaginarium
        layout = self.layout
        layout.prop(s, "prompt", text="")
        row = layout.row(align=True)
        row.prop(s, "num_images")
        row.prop(s, "seed")
        row = layout.row(align=True)
        row.prop(s, "width")
        row.prop(s, "height")
        layout.prop(s, "steps")
        layout.operator("imaginarium.generate_images", icon="IMAGE_DATA")
        if not s.generated:
            return
        grid = layout.grid_flow(columns=2, even_columns=True)
        for i, item in enumerate(s.generated):
            cell = grid.column()
            image = bpy.data.images.get(os.path.basename(item.filepath))
            if image is not None and image.preview is not None:
                cell.template_icon(icon_value=image.preview.icon_id, scale=5.0)
            else:
                cell.label(text=os.path.basename(item.filepath), icon="IMAGE")
            op = cell.operator("imaginarium.use_generated_image", text=f"Use #{i + 1}",
                               icon="CHECKMARK" if i == s.generated_index else "NONE")
            op.index = i


CLASSES = [IMAGINARIUM_PT_generate]
