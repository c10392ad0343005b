"""Preferences → Imaginarium → Models: Download, Cancel and Verify one model (the work runs in a worker process)."""
from __future__ import annotations

import bpy

from ..core.errors import ImaginariumError
from ..core.models import registry
from ..imaginarium_addon import model_downloads
from .common import fail


def _model_property() -> bpy.props.StringProperty:
    return bpy.props.StringProperty(name="Model", description="Key of the model (see core/models/registry.py)")


class _ModelOperator:
    def _spec(self) -> registry.ModelSpec:
        return registry.get(self.model)  # type: ignore[attr-defined]


class IMAGINARIUM_OT_download_model(_ModelOperator, bpy.types.Operator):
    """Download this model from the Hugging Face hub into the weights folder (resumes an interrupted download)"""

    bl_idname = "imaginarium.download_model"
    bl_label = "Download"
    model: _model_property()

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not bpy.app.online_access:
            cls.poll_message_set("Online access is off (Preferences → System → Network): nothing is downloaded")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            spec = self._spec()
            model_downloads.start(spec.key, "download")
        except ImaginariumError as exc:
            return fail(self, exc)
        self.report({"INFO"}, f"Downloading {spec.label} ({spec.approx_gb:.1f} GB)")
        return {"FINISHED"}


class IMAGINARIUM_OT_cancel_model_download(_ModelOperator, bpy.types.Operator):
    """Stop this model's download or check; what arrived is kept and Download continues from there"""

    bl_idname = "imaginarium.cancel_model_download"
    bl_label = "Cancel"
    model: _model_property()

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            model_downloads.cancel(self._spec().key)
        except ImaginariumError as exc:
            return fail(self, exc)
        return {"FINISHED"}


class IMAGINARIUM_OT_verify_model(_ModelOperator, bpy.types.Operator):
    """Check this model's files: sizes and hashes against the download's record (or their structure without one)"""

    bl_idname = "imaginarium.verify_model"
    bl_label = "Verify"
    model: _model_property()

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            model_downloads.start(self._spec().key, "verify")
        except ImaginariumError as exc:
            return fail(self, exc)
        return {"FINISHED"}


def cancel() -> None:
    """On unregister: stop the download worker (partial files stay for the next Download)."""
    model_downloads.stop()


CLASSES = [IMAGINARIUM_OT_download_model, IMAGINARIUM_OT_cancel_model_download, IMAGINARIUM_OT_verify_model]
