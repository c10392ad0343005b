"""Mirror a running CommandChain into the Status section: the timer body shared by chain-based jobs."""
from __future__ import annotations

from typing import Callable

import bpy

from ..core.errors import ImaginariumError
from .command_chain import CommandChain

POLL_INTERVAL_S = 0.5


def step_chain(chain: CommandChain | None, label: str, on_done: Callable[[], str],
               on_failed: Callable[[], ImaginariumError]) -> float | None:
    """Advance ``chain``; show its progress; at the end show ``on_done()``'s message or ``on_failed()``'s error.

    Returns the next timer interval, or None when the chain has ended (the timer then stops).
    """
    if chain is None:
        return None
    state = chain.poll()
    status = bpy.context.window_manager.imaginarium_status
    status.job_label, status.progress, status.message = label, chain.fraction, chain.message
    if state == "running":
        return POLL_INTERVAL_S
    status.job_id = ""
    if state == "done":
        status.message = on_done()
    elif state == "failed":
        err = on_failed()
        status.last_error, status.last_fix = err.message, err.fix
    return None
