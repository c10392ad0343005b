"""Library actions: re-read the catalogue; build its derived data (renders, proxies, embeddings)."""
from __future__ import annotations

import sys

import bpy

from ..core.errors import LibraryError
from ..imaginarium_addon import library_info, preferences, runs
from ..imaginarium_addon.chain_status import step_chain
from ..imaginarium_addon.command_chain import CommandChain
from ..imaginarium_addon.library_build import build_chain

_build: CommandChain | None = None


def build_state() -> CommandChain | None:
    return _build


def build_step() -> float | None:
    """Timer body: mirror the build into the Status section; forget the cached summary when it ends."""
    def done() -> str:
        library_info.forget()
        return "Library data built"

    def failed() -> LibraryError:
        library_info.forget()
        return LibraryError(_build.message, "Run scripts/build_library.py by hand to see the whole error "
                                            "(see asset_data/README.md).")

    return step_chain(_build, "Building library data", done, failed)


class IMAGINARIUM_OT_refresh_library(bpy.types.Operator):
    """Read the asset library's catalogue again (after you added assets or changed the folder)"""

    bl_idname = "imaginarium.refresh_library"
    bl_label = "Refresh Library"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        if runs.library_dir() is None:
            cls.poll_message_set("Set the asset library folder in the add-on preferences")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        library_info.forget()
        summary = library_info.summarise(runs.library_dir())
        if summary.error:
            self.report({"ERROR"}, f"{summary.error} Fix: {summary.fix}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"{summary.assets} assets in {summary.classes} classes")
        return {"FINISHED"}


class IMAGINARIUM_OT_build_library(bpy.types.Operator):
    """Render template views and collision proxies for new or changed assets, then embed them (incremental)"""

    bl_idname = "imaginarium.build_library"
    bl_label = "Build Library Data"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        summary = library_info.summarise(runs.library_dir())
        if summary.error:
            cls.poll_message_set(f"{summary.error} {summary.fix}")
            return False
        if _build is not None and _build.state == "running":
            cls.poll_message_set("The library data is being built")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[str]:
        global _build
        _build = build_chain(runs.library_dir(), preferences.worker_python() or sys.executable)
        _build.start()
        status = context.window_manager.imaginarium_status
        status.job_id, status.job_label, status.last_error = "library-build", "Building library data", ""
        if not bpy.app.timers.is_registered(build_step):
            bpy.app.timers.register(build_step, first_interval=0.5)
        return {"FINISHED"}


def cancel() -> None:
    if _build is not None and _build.state == "running":
        _build.cancel()
    if bpy.app.timers.is_registered(build_step):
        bpy.app.timers.unregister(build_step)


CLASSES = [IMAGINARIUM_OT_refresh_library, IMAGINARIUM_OT_build_library]
