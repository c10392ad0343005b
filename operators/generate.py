"""Generate: a prompt becomes scene images in the worker (FLUX + LoRA); pick one for "From image"."""
from __future__ import annotations

import bpy

from ..imaginarium_addon import runs, worker_runtime
from ..imaginarium_addon.worker_client import Job
from .common import submit


class IMAGINARIUM_OT_generate_images(bpy.types.Operator):
    """Generate scene images from the prompt in the worker (shows progress; cancellable)"""

    bl_idname = "imaginarium.generate_images"
    bl_label = "Generate Images"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if worker_runtime.current_job() is not None:
            cls.poll_message_set("Another job is running; wait or cancel it")
            return False
        if not context.scene.imaginarium.prompt.strip():
            cls.poll_message_set("Type a prompt first")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        s = context.scene.imaginarium
        if s.width % 16 or s.height % 16:
            self.report({"ERROR"}, "Width and height must be multiples of 16")
            return {"CANCELLED"}
        params = {"prompt": s.prompt, "n_images": s.num_images, "seed": s.seed, "width": s.width,
                  "height": s.height, "steps": s.steps}
        params["run_dir"] = str(runs.run_dir_for("t2i", params))
        return submit(self, "generate_images", params, "Generating images", on_done=_images_ready)


def _images_ready(job: Job) -> None:
    if job.state != "done" or not job.result:
        return
    settings = bpy.context.scene.imaginarium
    settings.generated.clear()
    seeds = list(job.result.get("seeds") or [])
    for i, path in enumerate(job.result.get("images", [])):
        entry = settings.generated.add()
        entry.filepath = str(path)
        entry.seed = int(seeds[i]) if i < len(seeds) else 0
        image = bpy.data.images.load(entry.filepath, check_existing=True)
        image.preview_ensure()
    settings.generated_index = 0


class IMAGINARIUM_OT_use_generated_image(bpy.types.Operator):
    """Send the picked generated image to "From image\""""

    bl_idname = "imaginarium.use_generated_image"
    bl_label = "Use This Image"

    index: bpy.props.IntProperty(name="Index", default=-1)

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not context.scene.imaginarium.generated:
            cls.poll_message_set("Generate images first")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        s = context.scene.imaginarium
        index = s.generated_index if self.index < 0 else self.index
        if not 0 <= index < len(s.generated):
            self.report({"ERROR"}, f"No generated image number {index + 1}")
            return {"CANCELLED"}
        s.generated_index = index
        s.image_path = s.generated[index].filepath
        return {"FINISHED"}


CLASSES = [IMAGINARIUM_OT_generate_images, IMAGINARIUM_OT_use_generated_image]
