"""What every operator does the same way: report a typed error (Status section + report), submit jobs, and
the poll of the actions on a built room."""
from __future__ import annotations

from typing import Any, Callable

import bpy

from ..core.errors import ImaginariumError
from ..imaginarium_addon import worker_runtime
from ..imaginarium_addon.run_state import active_run
from ..imaginarium_addon.panel_words import for_panel
from ..imaginarium_addon.worker_client import Job


def fail(op: bpy.types.Operator, exc: ImaginariumError) -> set[str]:
    """Show the reason and its fix in the Status section and as the operator's report."""
    worker_runtime.report_error(exc)
    message, fix = for_panel(exc)
    op.report({"ERROR"}, f"{message} — {fix}" if fix else message)
    return {"CANCELLED"}


def submit(op: bpy.types.Operator, name: str, params: dict[str, Any], label: str,
           on_done: Callable[[Job], None] | None = None) -> set[str]:
    """Send a worker job; a worker that cannot start is reported, not raised."""
    try:
        worker_runtime.submit(name, params, label, on_done=on_done)
    except ImaginariumError as exc:
        return fail(op, exc)
    return {"FINISHED"}


def poll_run(cls: type, context: bpy.types.Context) -> bool:
    """Poll of the actions on a built room: a room must be active (or the only one), else say how to get one."""
    if active_run(context) is None:
        cls.poll_message_set("Select an object of an Imaginarium room (or build one first)")
        return False
    return True
