"""Download a model from the Hugging Face hub: resumable, with progress and cancel, through huggingface_hub.

Why not ``snapshot_download``: since huggingface_hub 1.x each transfer goes to a temporary
file that is deleted when the transfer fails or is stopped, so cancelling a 10 GB shard at
90 % starts it again from zero. This module uses the library's own pieces instead —
``HfApi.repo_info`` (the file list with sizes and hashes), ``hf_hub_url``,
``build_hf_headers`` (the token) and ``http_get`` (the transfer, which resumes with an HTTP
``Range`` after a dropped connection) — and keeps each unfinished file under the model's
``.imaginarium-partial`` folder, so Download after a cancel, a crash or a lost connection
continues where it stopped. Every finished file is checked against the hub's hash before it is
moved into place; a manifest records what was fetched for Verify.

Never called with Blender's online access off: the worker is then started with
``IMAGINARIUM_ONLINE_ACCESS=0`` and this module refuses before any request.
"""
from __future__ import annotations

import fnmatch
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import ApiAuthError, ApiError, BadInputError, ImaginariumError, register_secret
from .registry import MODELS_SECTION, ModelSpec
from .status import MANIFEST, file_digest, manifest_path, partial_dir

ProgressFn = Callable[[int, int, str], None]   # (bytes done, bytes total, message); may raise to cancel
SPACE_MARGIN = 200 * 1024 * 1024


class OfflineError(ApiError):
    default_fix = ("Turn on 'Allow Online Access' in Blender's Preferences → System → Network, or copy the files "
                   "by hand (see weights/README.md).")


def online_allowed(env: dict[str, str] | None = None) -> bool:
    """False when Blender's online access is off (the worker's environment says so) or the hub is set offline."""
    env = dict(os.environ) if env is None else env
    off = {"1", "true", "yes", "on"}
    return env.get("IMAGINARIUM_ONLINE_ACCESS", "1").strip() != "0" and \
        env.get("HF_HUB_OFFLINE", "").strip().lower() not in off


def select_files(spec: ModelSpec, siblings: list[Any]) -> list[dict[str, Any]]:
    """The repository files this model needs: ``{"path", "size", "sha256", "blob_id"}`` each."""
    files = [{"path": s.rfilename, "size": s.size, "sha256": s.lfs.sha256 if s.lfs else None,
              "blob_id": s.blob_id} for s in siblings]
    if spec.single_file:
        wanted = spec.patterns[0]
        exact = [f for f in files if f["path"] == wanted]
        named = [f for f in files if f["path"].rsplit("/", 1)[-1] == wanted.rsplit("/", 1)[-1]]
        chosen = (exact or sorted(named, key=lambda f: f["path"]))[:1]
        if not chosen:
            raise ApiError(f"{spec.repo_id} has no file {wanted}.",
                           f"Check {spec.page}; the file may have moved — put it in the weights folder by hand.")
        return chosen
    chosen = [f for f in files if any(fnmatch.fnmatch(f["path"], p) for p in spec.patterns)]
    have = {f["path"] for f in chosen}
    absent = [r for r in spec.required if r not in have]
    if absent:
        raise ApiError(f"{spec.repo_id} no longer lists {', '.join(absent)}.",
                       f"Check {spec.page}, or put the files in the weights folder by hand (see weights/README.md).")
    return chosen


def download(spec: ModelSpec, place: Path, *, token: str | None = None, endpoint: str | None = None,
             progress: ProgressFn | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Fetch the model's files into ``place`` (a folder, or the file itself for a single-file model).

    Files already there with the hub's size are kept; unfinished ones resume. ``progress`` is
    called per received chunk and between files; raising from it (the worker's cancel) stops the
    transfer and keeps what arrived. Returns a summary with the resolved commit.
    """
    if not online_allowed(env):
        raise OfflineError(f"Online access is off: {spec.label} was not downloaded.")
    from huggingface_hub import HfApi
    from huggingface_hub.file_download import hf_hub_url, http_get
    from huggingface_hub.utils import build_hf_headers

    token = (token or "").strip() or None
    register_secret(token)  # no error message, fix or log line may show it from here on
    _guard_single_file(spec, place)
    report = progress or (lambda done, total, message: None)
    report(0, 0, f"asking {spec.repo_id} for its file list")
    try:
        info = HfApi(endpoint=endpoint or None, library_name="imaginarium").repo_info(
            spec.repo_id, repo_type=spec.repo_type, revision=spec.revision, files_metadata=True, token=token)
        files = select_files(spec, list(info.siblings or []))
        root = place.parent if spec.single_file else place
        names = {f["path"]: (place.name if spec.single_file else f["path"]) for f in files}
        total = sum(int(f["size"] or 0) for f in files)
        done = sum(int(f["size"] or 0) for f in files if _size(root / names[f["path"]]) == f["size"])
        todo = [f for f in files if _size(root / names[f["path"]]) != f["size"]]
        partials = partial_dir(place, spec.single_file)
        _check_space(root, sum(int(f["size"] or 0) - _size(_part(partials, names[f["path"]]), 0) for f in todo))
        headers = build_hf_headers(token=token, library_name="imaginarium")
        state = {"done": done, "last": 0.0, "file": ""}

        def on_bytes(n: int) -> None:
            state["done"] = max(0, state["done"] + n)
            now = time.monotonic()
            if now - state["last"] >= 0.2 or n < 0:
                state["last"] = now
                report(state["done"], total, state["file"])

        for i, f in enumerate(todo, 1):
            name = names[f["path"]]
            state["file"] = f"{name} ({i}/{len(todo)})"
            part = _part(partials, name)
            part.parent.mkdir(parents=True, exist_ok=True)
            resume = _size(part, 0)
            if f["size"] is not None and resume > f["size"]:
                part.unlink()
                resume = 0
            state["done"] += resume
            report(state["done"], total, state["file"])
            url = hf_hub_url(spec.repo_id, f["path"], repo_type=spec.repo_type, revision=info.sha,
                             endpoint=endpoint or None)
            with part.open("ab") as fh:
                http_get(url, fh, resume_size=resume, headers=headers, expected_size=f["size"],
                         displayed_filename=name, tqdm_class=_hook(on_bytes))
            report(state["done"], total, f"checking {name}")
            _check_content(part, f, name)
            dest = root / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, dest)
    except ImaginariumError:
        raise
    except Exception as exc:  # noqa: BLE001 — every hub/network failure becomes a typed error with its fix
        raise hub_error(exc, spec, token) from None
    _write_manifest(spec, place, info.sha, files, names)
    shutil.rmtree(partials, ignore_errors=True)
    if spec.single_file:
        _remove_if_empty(partials.parent)
    report(total, total, "done")
    return {"model": spec.key, "path": str(place), "commit": info.sha, "files": len(files),
            "fetched": len(todo), "bytes": total}


def _hook(on_bytes: Callable[[int], None]) -> type:
    """A tqdm stand-in that forwards byte counts (huggingface_hub calls it with total/initial/desc/unit…)."""

    class _Bytes:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.n = int(kwargs.get("initial") or 0)
            self.total = kwargs.get("total")

        def __enter__(self) -> "_Bytes":
            return self

        def __exit__(self, *exc: Any) -> bool:
            return False

        def update(self, n: float | None = 1) -> None:
            self.n += int(n or 0)
            on_bytes(int(n or 0))

        def close(self) -> None:
            pass

        def set_description(self, *args: Any, **kwargs: Any) -> None:
            pass

        set_postfix_str = set_description_str = refresh = set_description

    return _Bytes


def _part(partials: Path, name: str) -> Path:
    return partials / (name + ".part")


def _size(path: Path, missing: int = -1) -> int:
    try:
        return path.stat().st_size if path.is_file() else missing
    except OSError:
        return missing


def _guard_single_file(spec: ModelSpec, place: Path) -> None:
    """Never overwrite a file we did not download (the user's own LoRA under the configured name)."""
    if spec.single_file and place.is_file() and not manifest_path(place, True).is_file():
        raise BadInputError(f"{place} already exists and was not downloaded here; it was left as it is.",
                            f"Rename it, or set the {spec.label} file in {MODELS_SECTION} to another name.")
    if not spec.single_file and place.exists() and not place.is_dir():
        raise BadInputError(f"{place} is a file; {spec.label} needs a folder there.",
                            f"Set the {spec.label} setting to a folder name, or move the file away.")


def _check_space(root: Path, needed: int) -> None:
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed + SPACE_MARGIN > free:
        raise BadInputError(f"Not enough disk space in {root}: {needed / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free.",
                            "Free some space, or set another Weights folder in the add-on preferences.")


def _check_content(part: Path, f: dict[str, Any], name: str) -> None:
    """The hub's sha256 (large files) or git blob id (small ones) must match what arrived."""
    if f["size"] is not None and part.stat().st_size != f["size"]:
        raise ApiError(f"{name} arrived with {part.stat().st_size} bytes, the hub lists {f['size']}.",
                       "Click Download again: it resumes the transfer.")
    algorithm, want = ("sha256", f["sha256"]) if f["sha256"] else ("git-sha1", f["blob_id"])
    if want and file_digest(part, algorithm) != want:
        part.unlink()
        raise ApiError(f"{name} arrived damaged (its {algorithm} differs from the hub's); it was deleted.",
                       "Click Download again to fetch it anew.")


def _write_manifest(spec: ModelSpec, place: Path, commit: str | None, files: list[dict[str, Any]],
                    names: dict[str, str]) -> None:
    data = {"model": spec.key, "repo_id": spec.repo_id, "repo_type": spec.repo_type, "revision": spec.revision,
            "commit": commit, "written": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "files": {names[f["path"]]: {"size": f["size"], "sha256": f["sha256"], "blob_id": f["blob_id"],
                                         "repo_path": f["path"]} for f in files}}
    path = manifest_path(place, spec.single_file)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def hub_error(exc: BaseException, spec: ModelSpec, token: str | None) -> ImaginariumError:
    """A huggingface_hub / network failure as a typed error that says what to do (never showing the token)."""
    from huggingface_hub import errors as hf

    status = getattr(getattr(exc, "response", None), "status_code", None)
    token_fix = (f"Accept the licence on {spec.page} with your Hugging Face account, then paste a token with read "
                 f"access into 'Hugging Face token' in {MODELS_SECTION} (or set HF_TOKEN) and click Download again.")
    if isinstance(exc, hf.GatedRepoError) or (status in (401, 403) and spec.gated):
        if token:
            return ApiAuthError(f"The hub refused the token for {spec.repo_id} (HTTP {status}): the licence is not "
                                "accepted for this account, or the token cannot read gated models.", token_fix)
        return ApiAuthError(f"{spec.label} is a gated model: the hub needs a Hugging Face token (HTTP {status}).",
                            token_fix)
    if status == 401:
        return ApiAuthError(f"The hub refused the request for {spec.repo_id} (HTTP 401): the token is not valid.",
                            f"Check 'Hugging Face token' in {MODELS_SECTION}, or clear it.")
    if isinstance(exc, hf.RevisionNotFoundError):
        return ApiError(f"{spec.repo_id} has no revision {spec.revision!r}.", "Update the extension.")
    if isinstance(exc, hf.RepositoryNotFoundError):
        return ApiError(f"The hub does not know {spec.repo_id} (HTTP {status}).",
                        f"Check the address in {spec.page}; a private mirror must hold the same repository.")
    if isinstance(exc, hf.OfflineModeIsEnabled):
        return OfflineError(f"The hub is set offline (HF_HUB_OFFLINE): {spec.label} was not downloaded.")
    if isinstance(exc, hf.HfHubHTTPError):
        return ApiError(f"The hub answered HTTP {status} for {spec.repo_id}.",
                        "Wait a moment and click Download again: it resumes where it stopped.")
    if isinstance(exc, OSError) and not type(exc).__module__.startswith("httpx"):
        return ApiError(f"Downloading {spec.label} failed: {exc}.",
                        "Click Download again: it resumes where it stopped.")
    return ApiError(f"Could not reach the Hugging Face hub for {spec.label} ({type(exc).__name__}: {exc}).",
                    "Check the network connection, then click Download again: it resumes where it stopped.")


__all__ = ["download", "online_allowed", "select_files", "hub_error", "OfflineError", "MANIFEST"]
