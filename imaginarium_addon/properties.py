"""UI state. Scene settings (prompt, image, sizes) are saved with the .blend; job status lives on the
WindowManager and is never saved. No secret is ever a property here.
"""
from __future__ import annotations

import bpy

_REF_CAMERA_KEY = "use_reference_camera_choice"


def _get_reference_camera(self: bpy.types.PropertyGroup) -> bool:
    """The artist's choice once made; until then on only in a scene without a camera of its own."""
    choice = self.get(_REF_CAMERA_KEY)
    if choice is not None:
        return bool(choice)
    from .run_binding import wants_reference_camera

    scene = self.id_data
    return wants_reference_camera(scene) if isinstance(scene, bpy.types.Scene) else False


def _set_reference_camera(self: bpy.types.PropertyGroup, value: bool) -> None:
    self[_REF_CAMERA_KEY] = bool(value)


class ImaginariumStatus(bpy.types.PropertyGroup):
    job_id: bpy.props.StringProperty(name="Job")
    job_label: bpy.props.StringProperty(name="Current job")
    progress: bpy.props.FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR")
    message: bpy.props.StringProperty(name="Message")
    last_error: bpy.props.StringProperty(name="Last error")
    last_fix: bpy.props.StringProperty(name="Fix")
    worker_state: bpy.props.StringProperty(name="Worker", default="stopped")
    metrics_json: bpy.props.StringProperty(name="Metrics", description="Last layout metrics as JSON")
    notes_json: bpy.props.StringProperty(name="Notes", description="Notes of the last finished job as a JSON list: "
                                         "every fallback and guess it made")


class ImaginariumGeneratedImage(bpy.types.PropertyGroup):
    filepath: bpy.props.StringProperty(name="File", subtype="FILE_PATH")
    seed: bpy.props.IntProperty(name="Seed")


class ImaginariumSceneSettings(bpy.types.PropertyGroup):
    # Generate
    prompt: bpy.props.StringProperty(name="Prompt", description="Describe the room you want",
                                     default="A cozy bedroom with a double bed, two nightstands and a wardrobe")
    num_images: bpy.props.IntProperty(name="Images", default=2, min=1, max=8)
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0)
    width: bpy.props.IntProperty(name="Width", default=1024, min=256, max=2048, step=16)
    height: bpy.props.IntProperty(name="Height", default=1024, min=256, max=2048, step=16)
    steps: bpy.props.IntProperty(name="Steps", default=28, min=1, max=100)
    generated: bpy.props.CollectionProperty(type=ImaginariumGeneratedImage)
    generated_index: bpy.props.IntProperty(name="Picked image", default=0, min=0)
    # From image
    image_path: bpy.props.StringProperty(name="Image", subtype="FILE_PATH",
                                         description="Reference photo or a generated image")
    fov_deg: bpy.props.FloatProperty(name="Field of view", default=0.0, min=0.0, max=170.0,
                                     description="Horizontal field of view in degrees; 0 = from EXIF or a 30 mm lens")
    depth_path: bpy.props.StringProperty(name="Depth map", subtype="FILE_PATH",
                                         description="Optional: .npy in metres or 16-bit PNG in millimetres")
    detections_path: bpy.props.StringProperty(name="Detections", subtype="FILE_PATH",
                                              description="Optional: your own detections as JSON")
    last_run_dir: bpy.props.StringProperty(name="Last run folder", subtype="DIR_PATH")
    use_reference_camera: bpy.props.BoolProperty(
        name="Use reference camera", get=_get_reference_camera, set=_set_reference_camera,
        description="Building makes the photo's camera the scene camera and sets the render size to the photo's. "
                    "Off by default when the scene already has a camera of its own")
    pin_edited: bpy.props.BoolProperty(name="Keep my edits", default=True,
                                       description="Objects you moved stay where you put them when re-optimising")


CLASSES = [ImaginariumStatus, ImaginariumGeneratedImage, ImaginariumSceneSettings]


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.WindowManager.imaginarium_status = bpy.props.PointerProperty(type=ImaginariumStatus)
    bpy.types.Scene.imaginarium = bpy.props.PointerProperty(type=ImaginariumSceneSettings)


def unregister() -> None:
    del bpy.types.Scene.imaginarium
    del bpy.types.WindowManager.imaginarium_status
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
