"""Add-on preferences: paths, device, the Models section, and API keys that are never written to disk.

The keys (Anthropic, DeepDataSpace, Hugging Face) use get/set callbacks backed by this
process's memory, so Blender stores them nowhere: not in the scene .blend, not in
userpref.blend. A key that must survive a restart belongs in the environment
(ANTHROPIC_API_KEY, DDS_API_TOKEN, HF_TOKEN) before Blender starts.

The Models section lists every model the product uses with its state and size on disk, and
Download / Cancel / Verify buttons; the work runs in a worker process of its own
(:mod:`.model_downloads`), and downloads only when Blender's online access is on.
"""
from __future__ import annotations

import bpy

from . import ADDON_ID

_SECRETS: dict[str, str] = {}


def _secret_property(name: str, label: str, env_name: str) -> bpy.props.StringProperty:
    def get(self: bpy.types.AddonPreferences) -> str:
        return _SECRETS.get(name, "")

    def set_(self: bpy.types.AddonPreferences, value: str) -> None:
        _SECRETS[name] = value

    return bpy.props.StringProperty(
        name=label, subtype="PASSWORD", get=get, set=set_,
        description=f"Kept in memory for this session only; set {env_name} in the environment to keep it",
    )


def secret_values() -> dict[str, str]:
    """The keys typed into preferences this session (for :class:`core.config.Secrets`)."""
    return dict(_SECRETS)


class ImaginariumPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    worker_python: bpy.props.StringProperty(
        name="Worker Python", subtype="FILE_PATH",
        description="Python interpreter with torch for the worker process; empty uses Blender's own Python")
    weights_dir: bpy.props.StringProperty(name="Weights folder", subtype="DIR_PATH",
                                          description="Folder with model checkpoints (see weights/README.md)")
    library_dir: bpy.props.StringProperty(name="Asset library", subtype="DIR_PATH",
                                          description="Folder with imaginarium_asset_info.csv and the asset files")
    runs_dir: bpy.props.StringProperty(name="Runs folder", subtype="DIR_PATH",
                                       description="Where run folders are written; empty uses the extension's user folder")
    device: bpy.props.EnumProperty(name="Device", items=[
        ("auto", "Auto", "CUDA when the worker sees a GPU, else CPU"),
        ("cuda", "CUDA", "Always the GPU"),
        ("cpu", "CPU", "Always the CPU (slow for text-to-image)")], default="auto")
    memory_mode: bpy.props.EnumProperty(name="Memory mode", items=[
        ("auto", "Auto", "Chosen from free GPU memory"),
        ("gpu", "All on GPU", "Fastest; about 34 GiB for FLUX.1-dev at 1024²"),
        ("encoders_offload", "Encoders offload", "Transformer stays on the GPU, text encoders streamed (about 25 GiB)"),
        ("model_offload", "Model offload", "Moves whole models to the GPU when used (slow copies)"),
        ("group_offload", "Group offload", "Streams layer groups; about 2.4 GiB, roughly 3x slower"),
        ("sequential_offload", "Sequential offload", "Slowest; fits very small GPUs")], default="auto")
    job_timeout_s: bpy.props.FloatProperty(name="Job time limit (s)", default=1800.0, min=5.0)
    t2i_model: bpy.props.StringProperty(name="Text-to-image model", default="FLUX.1-dev",
                                         description="Folder under the weights folder (or a path) of the FLUX.1-dev pipeline")
    t2i_lora: bpy.props.StringProperty(name="LoRA", default="imaginarium_finetuned_flux.pth",
                                       description="LoRA file under the weights folder (or a path); empty for none")
    depth_model: bpy.props.StringProperty(name="Depth model", default="depth-anything-v2-metric-indoor-large",
                                          description="Folder under the weights folder of Depth Anything V2 metric")
    dinov2_model: bpy.props.StringProperty(name="DINOv2 model", default="dinov2-large",
                                           description="Folder under the weights folder of DINOv2 (retrieval)")
    local_detector: bpy.props.StringProperty(name="Local detector", default="grounding-dino-base",
                                             description="Folder under the weights folder of Grounding DINO")
    vlm_model: bpy.props.StringProperty(name="VLM model", default="claude-sonnet-4-5")
    detector_model: bpy.props.StringProperty(name="Cloud detector", default="DINO-X-1.0")
    anthropic_api_key: _secret_property("anthropic_api_key", "Anthropic API key", "ANTHROPIC_API_KEY")
    dds_api_token: _secret_property("dds_api_token", "DeepDataSpace token", "DDS_API_TOKEN")
    hf_token: _secret_property("hf_token", "Hugging Face token", "HF_TOKEN")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        col = layout.column()
        row = col.row(align=True)
        row.prop(self, "worker_python")
        row.operator("imaginarium.create_worker_env", text="", icon="CONSOLE")
        if not bpy.app.online_access:
            col.label(text="Online access is off: create the worker environment by hand (see README)", icon="INFO")
        col.prop(self, "weights_dir")
        col.prop(self, "library_dir")
        col.prop(self, "runs_dir")
        row = col.row()
        row.prop(self, "device")
        row.prop(self, "memory_mode")
        col.prop(self, "job_timeout_s")
        self._draw_models(layout.box())
        box = layout.box()
        box.label(text="Model APIs (keys are kept in memory only, never saved)")
        box.prop(self, "vlm_model")
        box.prop(self, "anthropic_api_key")
        box.prop(self, "detector_model")
        box.prop(self, "dds_api_token")
        if not bpy.app.online_access:
            box.label(text="Online access is off in Blender's preferences: cloud models will not be called.",
                      icon="INFO")


    def _draw_models(self, box: bpy.types.UILayout) -> None:
        """Models: per model its state and size, the setting naming its folder, Download/Cancel and Verify."""
        from ..core.models import registry
        from . import model_downloads

        box.label(text="Models (in the weights folder; see weights/README.md)")
        box.prop(self, "hf_token")
        if not bpy.app.online_access:
            box.label(text="Online access is off in Blender's preferences: Download is disabled.", icon="INFO")
        try:
            statuses = model_downloads.statuses()
        except OSError as exc:  # an unreadable weights folder: say so instead of failing the whole draw
            box.label(text=f"Cannot read the weights folder: {exc}", icon="ERROR")
            return
        for st in statuses:
            spec = registry.get(st.key)
            col = box.column(align=True)
            head = col.row(align=True)
            head.label(text=f"{spec.label} — {spec.used_for}", icon=_STATE_ICONS.get(st.state, "QUESTION"))
            job = model_downloads.running(st.key)
            if job is not None:
                head.operator("imaginarium.cancel_model_download", text="Cancel", icon="CANCEL").model = st.key
                col.progress(factor=max(0.0, min(1.0, job.progress)), type="BAR", text=model_downloads.line(st))
            else:
                head.operator("imaginarium.download_model", text="Download", icon="IMPORT").model = st.key
                head.operator("imaginarium.verify_model", text="Verify", icon="CHECKMARK").model = st.key
                col.label(text=model_downloads.line(st))
            if st.key in _MODEL_PROPS:  # a model without a preference of its own still draws its state
                col.prop(self, _MODEL_PROPS[st.key])


_STATE_ICONS = {"installed": "CHECKMARK", "missing": "CANCEL", "incomplete": "ERROR", "not used": "BLANK1"}
_MODEL_PROPS = {"flux": "t2i_model", "lora": "t2i_lora", "depth": "depth_model", "dinov2": "dinov2_model",
                "grounding_dino": "local_detector"}


def worker_python() -> str | None:
    """The Worker Python the artist set, as an absolute path (Blender's ``//`` resolved), or None when unset."""
    prefs = get()
    return bpy.path.abspath(prefs.worker_python) if prefs and prefs.worker_python else None


def get() -> ImaginariumPreferences | None:
    addon = bpy.context.preferences.addons.get(ADDON_ID)
    return addon.preferences if addon else None


def register() -> None:
    bpy.utils.register_class(ImaginariumPreferences)


def unregister() -> None:
    bpy.utils.unregister_class(ImaginariumPreferences)
    _SECRETS.clear()
