"""bpy helper for the tests: re-export a .blend asset as OBJ, GLB and FBX, scaled ×100 (centimetre units)
and shifted off the origin, as third-party assets often are. argv: BLEND_PATH OUT_DIR NAME_PREFIX."""
import sys
from pathlib import Path

import bpy

blend, out_dir, prefix = sys.argv[-3:]
out = Path(out_dir)
bpy.ops.wm.read_homefile(use_empty=True)
with bpy.data.libraries.load(blend, link=False) as (src, dst):
    dst.objects = list(src.objects)
for obj in dst.objects:
    bpy.context.scene.collection.objects.link(obj)
    obj.scale = (100.0, 100.0, 100.0)
    obj.location = (30.0, -12.0, 5.0)
    obj.select_set(True)
bpy.ops.wm.obj_export(filepath=str(out / f"{prefix}_obj.obj"), forward_axis="NEGATIVE_Y", up_axis="Z",
                      export_materials=False)
bpy.ops.export_scene.gltf(filepath=str(out / f"{prefix}_glb.glb"), export_format="GLB")
bpy.ops.export_scene.fbx(filepath=str(out / f"{prefix}_fbx.fbx"))
print("ok")
