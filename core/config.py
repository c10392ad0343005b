"""One home for settings, with documented defaults.

Order of precedence (later wins): the defaults below → a TOML file (``--config PATH``, or
the path in ``IMAGINARIUM_CONFIG``) → environment variables named
``IMAGINARIUM_<SECTION>_<FIELD>`` (e.g. ``IMAGINARIUM_DEVICE_DEVICE=cpu``).

API keys and tokens are *not* settings: they live in :class:`Secrets`, which reads them
only from the environment or from the add-on preferences (passed in by the caller), masks
them in ``repr`` and has no way to be written to a file. :meth:`Settings.save` writes
everything else.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

ENV_PREFIX = "IMAGINARIUM_"


def _doc(default: Any, doc: str) -> Any:
    """A field with its documentation kept beside the default (shown by ``python -m core config``)."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass
class PathSettings:
    weights_dir: str = _doc("weights", "Folder holding model checkpoints (see weights/README.md).")
    library_dir: str = _doc("asset_data/starter_library", "Asset library folder with imaginarium_asset_info.csv.")
    runs_dir: str = _doc("runs", "Where run folders are written, one per input and settings.")


@dataclass
class DeviceSettings:
    device: str = _doc("auto", "auto | cuda | cpu. auto takes CUDA when torch sees a GPU.")
    memory_mode: str = _doc("auto", "Text-to-image: auto | gpu | encoders_offload | model_offload | group_offload | "
                                     "sequential_offload. auto picks from free GPU memory (see docs/t2i.md).")


@dataclass
class WorkerSettings:
    python: str = _doc("", "Interpreter for the worker process (needs torch); empty = the current one.")
    job_timeout_s: float = _doc(1800.0, "A job running longer than this is cancelled and reported.")


@dataclass
class DepthSettings:
    model: str = _doc("depth-anything-v2-metric-indoor-large",
                      "Folder under weights_dir (or a hub id) of a Depth Anything V2 metric model.")
    max_depth_m: float = _doc(20.0, "Metric depth ceiling in metres (indoor model: 20).")
    input_size: int = _doc(518, "Depth model input: shorter side in pixels, rounded to a multiple of 14.")


@dataclass
class DetectionSettings:
    backend: str = _doc("auto", "auto | dds | local | file. auto: dds with a token, else local weights.")
    dds_model: str = _doc("DINO-X-1.0", "Cloud model name for dds-cloudapi-sdk.")
    local_model: str = _doc("grounding-dino-base", "Folder under weights_dir of a Grounding DINO model.")
    box_threshold: float = _doc(0.30, "Minimum detection score kept.")
    text_threshold: float = _doc(0.25, "Minimum phrase score (local Grounding DINO).")
    timeout_s: float = _doc(60.0, "Deadline for one cloud detection task, polling included.")
    dds_endpoint: str = _doc("api.deepdataspace.com", "DDS cloud API host (or http://host:port for a proxy).")
    retries: int = _doc(3, "Attempts for a cloud call on quota, server errors and timeouts (backoff between).")


@dataclass
class VlmSettings:
    model: str = _doc("claude-sonnet-4-5", "Anthropic model used for the scene graph.")
    timeout_s: float = _doc(60.0, "Time limit for one VLM call.")
    max_objects_per_call: int = _doc(12, "Objects batched per call to keep cost down.")
    base_url: str = _doc("", "Anthropic API base URL; empty = the SDK's default (set for a proxy).")


@dataclass
class RetrievalSettings:
    embedder: str = _doc("auto", "auto | dinov2 | classical. auto: DINOv2 when its weights are installed.")
    dinov2_model: str = _doc("dinov2-large", "Folder under weights_dir of a DINOv2 model (ViT-L/14 default).")
    top_k: int = _doc(8, "Candidates kept per object for swapping in the UI.")
    weight_global: float = _doc(1.0, "Retrieval score weight of the global (whole-crop) similarity.")
    weight_local: float = _doc(1.0, "Retrieval score weight of mutual-nearest-neighbour patch matching.")
    weight_size: float = _doc(0.5, "Retrieval score weight of the 3D box / asset size agreement.")
    weight_class: float = _doc(0.1, "Bonus when the asset's class is exactly the object's label.")
    rerank_assets: int = _doc(16, "Best assets (by global + size) re-scored with patch matching per object.")
    rerank_views: int = _doc(3, "Views per re-scored asset (best by global similarity) compared patch by patch.")
    pose_views: int = _doc(12, "Template views (near the viewing elevation, best by global similarity) read for pose.")
    patch_store_max_gb: float = _doc(8.0, "Store template patch features when they fit this size; else compute on demand.")
    mirror_views: bool = _doc(True, "Pose: also match the mirrored crop (reads symmetric assets from both sides).")
    small_object_m: float = _doc(0.35, "Pose: objects whose box is smaller than this take the template yaw alone.")
    embed_missing: bool = _doc(True, "Compute missing template embeddings into the library store before matching.")
    strict_labels: bool = _doc(False, "Fail when a label has no candidate asset (else: a labelled placeholder box).")
    text_model: str = _doc("", "Folder under weights_dir of a sentence-embedding or CLIP text model for mapping "
                               "labels to library classes; empty = weight-free text similarity.")


@dataclass
class LayoutSettings:
    collision_margin_m: float = _doc(0.01, "Penetration deeper than this counts as a collision.")
    float_tolerance_m: float = _doc(0.02, "A gap to the support larger than this counts as floating.")
    max_scale_change: float = _doc(1.5, "Scale toward the observed box is clamped to [1/x, x].")


@dataclass
class T2ISettings:
    model: str = _doc("FLUX.1-dev", "Folder under weights_dir (or a hub id) of the FLUX.1-dev pipeline.")
    lora: str = _doc("imaginarium_finetuned_flux.pth", "LoRA file under weights_dir; empty for none.")
    steps: int = _doc(28, "Denoising steps (FLUX.1-dev is distilled for ~28).")
    guidance: float = _doc(3.5, "Distilled guidance scale.")
    width: int = _doc(1024, "Image width, a multiple of 16.")
    height: int = _doc(1024, "Image height, a multiple of 16.")
    lora_scale: float = _doc(1.0, "Strength the LoRA is fused with (1 = as trained).")
    lora_rank: int = _doc(0, "Required LoRA rank; 0 = read it from the file (a mismatch is an error).")
    lora_alpha: float = _doc(0.0, "LoRA alpha for .pth files that lack it; 0 = the rank (scale 1).")
    template: str = _doc("plain", "Prompt template: plain | room | catalogue, or text containing {prompt}.")
    n_images: int = _doc(1, "Images per prompt (seeds seed, seed+1, ...).")
    seed: int = _doc(0, "First seed.")
    vae_tiling: str = _doc("auto", "auto | on | off. auto: on with offloading or above 2 megapixels.")
    fuse_qkv: bool = _doc(False, "Fuse the q/k/v projections into one matrix product (after the LoRA is fused).")
    fp8: bool = _doc(False, "Store transformer weights in FP8 (half the memory; lets model offload fit 24 GB).")
    compile: bool = _doc(False, "torch.compile the repeated transformer blocks (first run compiles, then cached).")
    compile_mode: str = _doc("default", "default | max-autotune-no-cudagraphs | max-autotune | reduce-overhead.")
    attention_backend: str = _doc("", "diffusers attention backend, e.g. _native_cudnn; empty = PyTorch SDPA.")
    compile_cache_dir: str = _doc("~/.cache/imaginarium/inductor", "Where compiled kernels are kept between runs.")


@dataclass
class ModelsSettings:
    hub_endpoint: str = _doc("", "Hugging Face hub address for Download in Preferences → Imaginarium → Models "
                                 "(a mirror, say); empty = HF_ENDPOINT, else huggingface.co.")
    converted_dir: str = _doc("~/.cache/imaginarium/converted",
                              "Where original-format checkpoints (.pth) are converted to when their own folder "
                              "is read-only.")


@dataclass
class Settings:
    paths: PathSettings = field(default_factory=PathSettings)
    device: DeviceSettings = field(default_factory=DeviceSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    depth: DepthSettings = field(default_factory=DepthSettings)
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    vlm: VlmSettings = field(default_factory=VlmSettings)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    layout: LayoutSettings = field(default_factory=LayoutSettings)
    t2i: T2ISettings = field(default_factory=T2ISettings)
    models: ModelsSettings = field(default_factory=ModelsSettings)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> "Settings":
        """Defaults, then the file (if any), then ``IMAGINARIUM_*`` variables."""
        env = os.environ if env is None else env
        settings = cls()
        path = path or env.get(ENV_PREFIX + "CONFIG") or None
        if path:
            settings.update(_read_toml(Path(path)), source=str(path))
        for section in fields(settings):
            sub = getattr(settings, section.name)
            for f in fields(sub):
                key = f"{ENV_PREFIX}{section.name}_{f.name}".upper()
                if key in env:
                    setattr(sub, f.name, _coerce(key, env[key], f.default))
        return settings

    def update(self, data: Mapping[str, Any], source: str = "settings") -> None:
        """Apply nested ``{section: {field: value}}``; unknown names are errors, not silence."""
        for section_name, values in data.items():
            if not hasattr(self, section_name) or not is_dataclass(getattr(self, section_name)):
                raise ConfigError(f"{source}: unknown section [{section_name}].",
                                  f"Use one of: {', '.join(f.name for f in fields(self))}.")
            if not isinstance(values, Mapping):
                raise ConfigError(f"{source}: [{section_name}] must be a table of settings.")
            sub = getattr(self, section_name)
            names = {f.name: f for f in fields(sub)}
            for key, value in values.items():
                if key not in names:
                    raise ConfigError(f"{source}: unknown setting {section_name}.{key}.",
                                      f"Settings in [{section_name}]: {', '.join(names)}.")
                setattr(sub, key, _coerce(f"{section_name}.{key}", value, names[key].default))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {s.name: {f.name: getattr(getattr(self, s.name), f.name) for f in fields(getattr(self, s.name))}
                for s in fields(self)}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a TOML file. Secrets are not part of Settings, so none can be written."""
        lines: list[str] = []
        for section, values in self.to_dict().items():
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
            lines.append("")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    def resolve_path(self, value: str, base: str | os.PathLike[str] | None = None) -> Path:
        """Relative paths in settings are relative to ``base`` (the project or extension root)."""
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() or base is None else Path(base) / p


def documented_defaults() -> list[tuple[str, Any, str]]:
    """(``section.field``, default, doc) for every setting: the one place a user reads them."""
    out = []
    defaults = Settings()
    for s in fields(defaults):
        for f in fields(getattr(defaults, s.name)):
            out.append((f"{s.name}.{f.name}", getattr(getattr(defaults, s.name), f.name), f.metadata.get("doc", "")))
    return out


class Secret(str):
    """A string that never shows itself in repr/str formatting of containers or logs."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


@dataclass(frozen=True)
class Secrets:
    """API keys: from the add-on preferences (passed by the caller) or the environment, nowhere else."""

    anthropic_api_key: Secret = Secret("")
    dds_api_token: Secret = Secret("")
    hf_token: Secret = Secret("")  # Hugging Face: downloads of gated models (FLUX.1-dev)

    ENV_NAMES = {"anthropic_api_key": ("ANTHROPIC_API_KEY",), "dds_api_token": ("DDS_API_TOKEN", "DDS_CLOUDAPI_TOKEN"),
                 "hf_token": ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}

    @classmethod
    def gather(cls, preferences: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None) -> "Secrets":
        """Preferences win over the environment; empty values count as unset."""
        env = os.environ if env is None else env
        prefs = preferences or {}
        values = {}
        for name, env_names in cls.ENV_NAMES.items():
            value = (prefs.get(name) or "").strip()
            if not value:
                value = next((env[e].strip() for e in env_names if env.get(e, "").strip()), "")
            values[name] = Secret(value)
        from .errors import register_secret

        for v in values.values():  # from now on no error message, fix or log line can print them
            register_secret(v)
        return cls(**values)

    def __repr__(self) -> str:
        return "Secrets(" + ", ".join(f"{k}={'set' if getattr(self, k) else 'unset'}" for k in self.ENV_NAMES) + ")"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist.", "Create it or unset IMAGINARIUM_CONFIG.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}.", "Fix the line named above.") from None


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Convert a file or environment value to the type of its default, or say which setting is wrong."""
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if kind is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Setting {name} = {value!r} is not a {kind.__name__}.",
                          f"Give {name} a {kind.__name__} value (default {default!r}).") from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
