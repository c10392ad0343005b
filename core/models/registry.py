"""Every model the product runs: where it comes from on the Hugging Face hub and where it lives on disk.

Why one table: the Models section in the preferences, the download and verify worker ops,
the status shown next to each model and every "weights missing" message must agree on a
model's repository, which of its files matter and which setting names its place. A model's
place is the value of one setting (``depth.model``, ``retrieval.dinov2_model`` …): a name
under the weights folder or an absolute path, exactly as the loaders resolve it.

Revisions are branch names ("main"); the commit a download resolved is written into the
folder's manifest (see :mod:`.status`), so a later Verify checks against what was fetched.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

MODELS_SECTION = "Preferences → Imaginarium → Models"


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable model.

    ``patterns``: repository paths to fetch (fnmatch patterns). ``required``: paths (relative
    to the model's place) that must exist for the loader to work; a required ``*.index.json``
    also requires every shard it names. ``single_file``: the model is one file (the LoRA), saved
    under the setting's file name; ``patterns[0]`` is its path in the repository (when the
    repository keeps it in a sub-folder, the first file with that base name is taken).
    ``published``: file names of the original repositories' checkpoints that load through
    :mod:`.convert` instead of a download.
    """

    key: str
    label: str
    used_for: str
    repo_id: str
    setting: str
    patterns: tuple[str, ...]
    required: tuple[str, ...]
    approx_gb: float
    repo_type: str = "model"
    revision: str = "main"
    gated: bool = False
    single_file: bool = False
    published: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        """The model's page on the hub (where a gated model's licence is accepted)."""
        prefix = "datasets/" if self.repo_type == "dataset" else ""
        return f"https://huggingface.co/{prefix}{self.repo_id}"


_TRANSFORMERS = ("config.json", "model.safetensors", "preprocessor_config.json")

MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="flux", label="FLUX.1-dev", used_for="text → image",
        repo_id="black-forest-labs/FLUX.1-dev", setting="t2i.model", gated=True, approx_gb=33.7,
        # The diffusers folders only: the repository also holds the same weights as single files
        # (flux1-dev.safetensors, ae.safetensors, 24 GB more) that the diffusers pipeline does not read.
        patterns=("model_index.json", "scheduler/*", "text_encoder/*", "text_encoder_2/*", "tokenizer/*",
                  "tokenizer_2/*", "transformer/*", "vae/*"),
        required=("model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                  "text_encoder/model.safetensors", "text_encoder_2/config.json",
                  "text_encoder_2/model.safetensors.index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                  "tokenizer_2/spiece.model", "transformer/config.json",
                  "transformer/diffusion_pytorch_model.safetensors.index.json", "vae/config.json",
                  "vae/diffusion_pytorch_model.safetensors")),
    ModelSpec(
        key="lora", label="Imaginarium LoRA", used_for="text → image in the library's style",
        repo_id="HiHiAllen/Imaginarium-Dataset", repo_type="dataset", setting="t2i.lora", single_file=True,
        approx_gb=0.3, patterns=("imaginarium_finetuned_flux.pth",), required=()),
    ModelSpec(
        key="depth", label="Depth Anything V2 metric indoor (ViT-L)", used_for="metric depth",
        repo_id="depth-anything/Depth-Anything-V2-Metric-Indoor-Large-hf", setting="depth.model", approx_gb=1.3,
        patterns=_TRANSFORMERS, required=("config.json", "model.safetensors"),
        published=("depth_anything_v2_metric_hypersim_vitl.pth",)),
    ModelSpec(
        key="dinov2", label="DINOv2 ViT-L/14", used_for="asset retrieval and pose",
        repo_id="facebook/dinov2-large", setting="retrieval.dinov2_model", approx_gb=1.2,
        patterns=_TRANSFORMERS, required=("config.json", "model.safetensors"), published=("dinov2_vitl14.pth",)),
    ModelSpec(
        key="grounding_dino", label="Grounding DINO (base)", used_for="local object detection",
        repo_id="IDEA-Research/grounding-dino-base", setting="detection.local_model", approx_gb=0.9,
        patterns=_TRANSFORMERS + ("special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"),
        required=("config.json", "model.safetensors", "preprocessor_config.json", "tokenizer_config.json")),
)

BY_KEY: dict[str, ModelSpec] = {m.key: m for m in MODELS}


def get(key: str) -> ModelSpec:
    """The model named ``key``, or a ConfigError listing the known ones."""
    spec = BY_KEY.get(str(key))
    if spec is None:
        raise ConfigError(f"There is no model named {key!r}.", f"Use one of: {', '.join(BY_KEY)}.")
    return spec


def setting_value(spec: ModelSpec, settings: Any) -> str:
    """The current value of the model's setting (``section.field``)."""
    section, _, name = spec.setting.partition(".")
    return str(getattr(getattr(settings, section), name) or "").strip()


def target(spec: ModelSpec, settings: Any, base: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the model lives: the setting as an absolute path, else under the weights folder; None when unset.

    ``base`` is what a relative weights folder is relative to (the extension's folder inside
    Blender, the working directory of the worker otherwise) — the same rule the loaders use.
    """
    value = setting_value(spec, settings)
    if not value:
        return None
    direct = Path(os.path.expanduser(value))
    if direct.is_absolute():
        return direct
    weights = Path(os.path.expanduser(settings.paths.weights_dir))
    if not weights.is_absolute() and base is not None:
        weights = Path(base) / weights
    return weights / value


def is_published_file(spec: ModelSpec, path: Path) -> bool:
    """True when ``path`` is one of the original repositories' checkpoints (a ``.pth`` file) for this model."""
    return bool(spec.published) and path.suffix == ".pth"


def fix_for(spec: ModelSpec, place: Path | str | None = None) -> str:
    """The one wording of "this model's weights are missing" fixes, used by every loader's error."""
    where = f" into {Path(place).expanduser().resolve()}" if place else ""  # absolute: a relative path means
    # nothing in a panel (it would be read against Blender's or the worker's working directory)
    return (f"Download it in {MODELS_SECTION} ({spec.label} → Download), or put the files of "
            f"{spec.repo_id}{where} by hand (see weights/README.md).")
