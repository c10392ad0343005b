"""Run in a fresh interpreter with the extension installed: Render Preview, Hide Them, Match Photo Brightness,
the Use reference camera checkbox and the Layout panel's conflict box. argv: ZIP_PATH REPO_ROOT OUT_DIR.
Prints one JSON report on its last line.
"""
import json
import sys
from pathlib import Path

zip_path, repo_root, out_dir = sys.argv[-3], Path(sys.argv[-2]), Path(sys.argv[-1])
sys.path.insert(0, str(repo_root))
for blocked in ("cv2", "scipy", "PIL", "torch", "transformers", "diffusers"):  # as in Blender's bundled Python
    sys.modules[blocked] = None

import bpy  # noqa: E402

from tests.ui_recorder import draw_panel  # noqa: E402

bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
pkg = "bl_ext.user_default.imaginarium"
s = sys.modules[pkg + ".core.schema"]
sb = __import__(pkg + ".imaginarium_addon.scene_builder", fromlist=["x"])
lp = sys.modules[pkg + ".imaginarium_addon.layout_props"]
report = {}

# An asset file: a 0.6 m box saved as .blend.
bpy.ops.wm.read_homefile(use_empty=True)
mesh = bpy.data.meshes.new("box")
mesh.from_pydata([(x * 0.3, y * 0.3, z * 0.6) for x in (-1, 1) for y in (-1, 1) for z in (0, 1)], [],
                 [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)])
asset = out_dir / "box.blend"
bpy.data.libraries.write(str(asset), {bpy.data.objects.new("box", mesh)})
records = {"box_a": s.AssetRecord(id="box_a", name="box", class_name="box", retrieval_class="box", size=(0.6, 0.6, 0.6),
                                  path=str(asset))}
photo = out_dir / "photo.png"
img = bpy.data.images.new("photo", 64, 48)
img.pixels.foreach_set([0.45, 0.42, 0.4, 1.0] * (64 * 48))
img.filepath_raw, img.file_format = str(photo), "PNG"
img.save()

# The empty scene wants the reference camera; Blender's startup scene (cube, light, camera) does not.
report["empty_default"] = bpy.context.scene.imaginarium.use_reference_camera
bpy.ops.wm.read_homefile()  # factory startup: Cube, Light, Camera
scene = bpy.context.scene
report["startup_objects"] = sorted(o.name for o in scene.objects)
report["startup_default"] = scene.imaginarium.use_reference_camera
cam = s.Camera(fx=50.0, fy=50.0, cx=32.0, cy=24.0, width=64, height=48,
               world_from_camera=((1, 0, 0, 0.0), (0, 0, 1, -1.8), (0, -1, 0, 1.3), (0, 0, 0, 1)))
planes = [s.Plane(id="floor", kind="floor", normal=(0, 0, 1), offset=0.0),
          s.Plane(id="wall_0", kind="wall", normal=(1, 0, 0), offset=-2.0),
          s.Plane(id="wall_1", kind="wall", normal=(-1, 0, 0), offset=-2.0),
          s.Plane(id="wall_2", kind="wall", normal=(0, -1, 0), offset=-2.0)]
layout = s.Layout(placements=[s.Placement(object_id="box_0", asset_id="box_a",
                                          transform=((1, 0, 0, 1.2), (0, 1, 0, 1.0), (0, 0, 1, 0.0), (0, 0, 0, 1)))],
                  planes=planes, camera=cam, run_id="ops_run")
coll = sb.build_layout(layout, records, reference_image=str(photo),
                       activate_camera=scene.imaginarium.use_reference_camera)
report["scene_camera_after_build"] = scene.camera.name
box = lp.placement_objects(coll)["box_0"]
bpy.ops.object.select_all(action="DESELECT")
box.select_set(True)
bpy.context.view_layer.objects.active = box
panel = sys.modules[pkg + ".panels.layout_panel"].IMAGINARIUM_PT_layout
report["panel"] = draw_panel(panel, bpy.context).texts()
report["preview"] = list(bpy.ops.imaginarium.render_preview(width=48, samples=2))
image = bpy.data.images.get("Imaginarium preview")
report["preview_image"] = list(image.size) if image else None
report["preview_file"] = bool(image) and Path(image.filepath_raw).is_file()
report["match"] = list(bpy.ops.imaginarium.match_exposure())
report["cube_before"] = [bpy.data.objects["Cube"].hide_render, bpy.data.objects["Cube"].hide_get()]
report["hide"] = list(bpy.ops.imaginarium.hide_conflicts())
report["cube_after"] = [bpy.data.objects["Cube"].hide_render, bpy.data.objects["Cube"].hide_get()]
report["light_after"] = bpy.data.objects["Light"].hide_render
report["panel_after"] = draw_panel(panel, bpy.context).texts()
scene.imaginarium.use_reference_camera = True
report["set_true"] = scene.imaginarium.use_reference_camera
print(json.dumps(report))
