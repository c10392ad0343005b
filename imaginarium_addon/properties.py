"""Per-session UI state. Job status lives on the WindowManager: it is never saved into a .blend."""
from __future__ import annotations

import bpy


class ImaginariumStatus(bpy.types.PropertyGroup):
    job_id: bpy.props.StringProperty(name="Job")
    job_label: bpy.props.StringProperty(name="Current job")
    progress: bpy.props.FloatProperty(name="Progress", min=0.0, max=1.0, subtype="FACTOR")
    message: bpy.props.StringProperty(name="Message")
    last_error: bpy.props.StringProperty(name="Last error")
    last_fix: bpy.props.StringProperty(name="Fix")
    worker_state: bpy.props.StringProperty(name="Worker", default="stopped")


def register() -> None:
    bpy.utils.register_class(ImaginariumStatus)
    bpy.types.WindowManager.imaginarium_status = bpy.props.PointerProperty(type=ImaginariumStatus)


def unregister() -> None:
    del bpy.types.WindowManager.imaginarium_status
    bpy.utils.unregister_class(ImaginariumStatus)
