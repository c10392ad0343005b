"""The worker op ``match``: params {run_dir, library_dir?, config?, settings?} → the CandidateSet as a dict."""
from __future__ import annotations

from typing import Any

from ..config import Settings
from ..errors import BadInputError


def match_op(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Run the match stage in the worker, with progress and cancellation through ``ctx``."""
    from .pipeline import match

    run_dir = params.get("run_dir")
    if not isinstance(run_dir, str) or not run_dir:
        raise BadInputError(f"match needs params.run_dir (a run folder path), got {run_dir!r}.",
                            "Pass the run folder that perception wrote.")
    settings = Settings.load(params.get("config"))
    if params.get("settings"):
        settings.update(params["settings"], source="match params")
    library = params.get("library_dir") or settings.paths.library_dir
    result = match(run_dir, library, settings, ctx=ctx)
    return {"candidates_path": f"{run_dir}/candidates.json", **result.to_dict()}
