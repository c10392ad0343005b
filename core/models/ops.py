"""Worker ops ``download_model`` and ``verify_model``: the Models section's buttons, off Blender's main thread.

params: ``model`` (a key of :data:`core.models.registry.BY_KEY`) and optional ``config`` (TOML
path). Settings (weights folder, model names, hub address) come from ``Settings.load`` like every
op; the Hugging Face token from the worker's environment (``HF_TOKEN``), where the client put
it from the preferences — never from the request. Progress is reported in bytes; a cancel
stops at the next received chunk and keeps what arrived for the next Download.
"""
from __future__ import annotations

import os
from typing import Any

from ..config import Secrets, Settings
from ..errors import BadInputError
from . import registry
from .status import human_size, status, verify


def _spec_and_settings(params: dict[str, Any]) -> tuple[registry.ModelSpec, Settings]:
    key = params.get("model")
    if not isinstance(key, str) or not key:
        raise BadInputError("The op needs a string 'model' parameter.", f"Pass one of: {', '.join(registry.BY_KEY)}.")
    return registry.get(key), Settings.load(params.get("config"))


def download_model(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Download (or finish downloading) one model into the place its setting names."""
    from .download import download

    spec, settings = _spec_and_settings(params)
    place = registry.target(spec, settings)
    if place is None:
        raise BadInputError(f"{spec.setting} is empty, so {spec.label} has no place to go.",
                            f"Set the {spec.label} name in the add-on preferences first.")
    if registry.is_published_file(spec, place):
        raise BadInputError(f"{spec.setting} names the original-format file {place.name}, which is used as it is.",
                            f"To download the transformers version instead, set it back to a folder name "
                            f"(e.g. {registry.setting_value(spec, type(settings)())}).")
    token = Secrets.gather().hf_token

    def progress(done: int, total: int, message: str) -> None:
        ctx.check_cancelled()
        fraction = done / total if total else 0.0
        size = f"{human_size(done)} of {human_size(total)}" if total else ""
        ctx.progress(fraction, " — ".join(x for x in (size, message) if x))

    endpoint = settings.models.hub_endpoint.strip() or os.environ.get("HF_ENDPOINT") or None
    result = download(spec, place, token=token, endpoint=endpoint, progress=progress)
    result["status"] = status(spec, settings).to_dict()
    return result


def verify_model(params: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Check a model's files against the download record (sizes and hashes), or their structure without one."""
    spec, settings = _spec_and_settings(params)

    def on_bytes(done: int, total: int) -> None:
        ctx.check_cancelled()
        ctx.progress(done / total if total else 0.0, f"checking {human_size(done)} of {human_size(total)}")

    ctx.progress(0.0, f"checking {spec.label}")
    return verify(spec, settings, on_bytes=on_bytes)
