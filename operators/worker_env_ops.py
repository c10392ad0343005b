"""Preferences: create the worker's Python environment with pip (only when Blender may go online)."""
from __future__ import annotations

from pathlib import Path

import bpy

from ..imaginarium_addon import ADDON_ID, preferences
from ..imaginarium_addon.chain_status import step_chain
from ..imaginarium_addon.command_chain import CommandChain
from ..imaginarium_addon.worker_env import env_builder, env_python, failure, manual_instructions

_builder: CommandChain | None = None
_env_dir: Path | None = None


def builder() -> CommandChain | None:
    return _builder


def default_env_dir() -> Path:
    try:
        return Path(bpy.utils.extension_path_user(ADDON_ID, path="worker-env", create=True))
    except ValueError:  # a legacy add-on install has no extension user folder
        return Path(bpy.utils.user_resource("DATAFILES", path="imaginarium/worker-env", create=True))


def step() -> float | None:
    """Timer body: advance the build; on success point Worker Python at the new interpreter."""
    def done() -> str:
        prefs = preferences.get()
        if prefs is not None:
            prefs.worker_python = str(env_python(_env_dir))
        return f"Worker environment ready: {env_python(_env_dir)}"

    return step_chain(_builder, "Creating worker environment", done, lambda: failure(_builder, _env_dir))


class IMAGINARIUM_OT_create_worker_env(bpy.types.Operator):
    """Create a Python environment for the worker under the extension's user folder and install torch and the model libraries with pip"""

    bl_idname = "imaginarium.create_worker_env"
    bl_label = "Create Worker Environment"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if not bpy.app.online_access:
            cls.poll_message_set("Online access is off (Preferences → System → Network). Or create it by hand: "
                                 + manual_instructions(default_env_dir()))
            return False
        if _builder is not None and _builder.state == "running":
            cls.poll_message_set("The worker environment is being created")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        global _builder, _env_dir
        _env_dir = default_env_dir()
        _builder = env_builder(_env_dir)
        _builder.start()
        status = context.window_manager.imaginarium_status
        status.job_id, status.job_label = "worker-env", "Creating worker environment"
        if not bpy.app.timers.is_registered(step):
            bpy.app.timers.register(step, first_interval=0.5)
        self.report({"INFO"}, f"Creating the worker environment in {_env_dir}")
        return {"FINISHED"}


def cancel() -> None:
    if _builder is not None:
        _builder.cancel()
    if bpy.app.timers.is_registered(step):
        bpy.app.timers.unregister(step)


CLASSES = [IMAGINARIUM_OT_create_worker_env]
