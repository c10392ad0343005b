"""Load a LoRA into a FLUX pipeline from either published format, prove it took effect, and fuse it.

Why so strict: the published Imaginarium script builds its adapter with a fixed rank and, when
the file's rank differs, quietly generates with the plain base model — the images then look
nothing like the asset library and retrieval fails far downstream. Here the rank is read from
the tensors, every key must land on a real ``nn.Linear`` of the right shape, and after fusing we
check that the base weights actually changed. Anything else is a :class:`LoraError` that says what
to do.

Formats:
* diffusers: ``pytorch_lora_weights.safetensors`` (a file, or a folder holding it), as written by
  ``FluxPipeline.save_lora_weights`` and by ``scripts/train_flux_lora.py``;
* Imaginarium release: ``imaginarium_finetuned_flux.pth``, a raw peft state dict for the
  transformer's ``to_q``/``to_k``/``to_v``/``to_out.0``. Keys may carry a ``base_model.model.`` or
  ``transformer.`` prefix and an adapter name (``lora_A.default.weight``); all are accepted. The file
  holds no alpha, so ``alpha`` defaults to the rank (scale 1), which is peft's training default
  when ``lora_alpha == r``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ImaginariumError

ADAPTER_NAME = "imaginarium"
_PEFT_KEY = re.compile(r"^(?:base_model\.model\.)?(?:transformer\.)?(?P<module>.+?)\.lora_(?P<ab>[AB])"
                       r"(?:\.(?P<adapter>[A-Za-z0-9_\-]+))?\.weight$")


class LoraError(ImaginariumError):
    """The LoRA file cannot be used with this pipeline; we refuse rather than generate without it."""

    default_fix = ("Use the LoRA trained for this base model (weights/imaginarium_finetuned_flux.pth for FLUX.1-dev), "
                   "or clear the t2i.lora setting to generate without one.")


class LoraRankError(LoraError):
    default_fix = "Leave t2i.lora_rank at 0 so the rank is read from the file, or use the file trained at that rank."


class LoraKeyError(LoraError):
    default_fix = "This LoRA was trained for another model: use one trained on FLUX.1-dev's transformer."


@dataclass
class LoraInfo:
    """What was loaded (reported in PNG metadata and in the worker's result)."""

    path: str
    format: str
    rank: int
    alpha: float
    scale: float
    modules: int
    fused: bool
    max_weight_change: float


def detect_format(path: Path) -> str:
    """``"diffusers"`` or ``"peft_pth"`` from the file name and contents' container type."""
    if path.is_dir():
        if (path / "pytorch_lora_weights.safetensors").is_file():
            return "diffusers"
        raise LoraError(f"Folder {path} holds no pytorch_lora_weights.safetensors.",
                        "Point t2i.lora at the .safetensors or .pth file itself.")
    if not path.is_file():
        from ..models.registry import fix_for, get

        raise LoraError(f"LoRA file {path} does not exist.", fix_for(get("lora"), path) + " Or clear t2i.lora.")
    if path.suffix == ".safetensors":
        return "diffusers"
    if path.suffix in (".pth", ".pt", ".bin"):
        return "peft_pth"
    raise LoraError(f"LoRA file {path} has an unknown extension {path.suffix!r}.",
                    "Use a diffusers .safetensors LoRA or the Imaginarium .pth release.")


def read_peft_state_dict(path: Path) -> dict[str, Any]:
    """Load a raw peft ``.pth`` safely (tensors only) and unwrap a ``state_dict``/``model`` container."""
    import torch

    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle with code, truncated download
        raise LoraError(f"Cannot read LoRA file {path}: {exc}.", "Download the file again.") from None
    for key in ("state_dict", "model", "module"):
        if isinstance(data, dict) and isinstance(data.get(key), dict) and not any(
                k.endswith(".weight") for k in data):
            data = data[key]
    if not isinstance(data, dict) or not data:
        raise LoraError(f"LoRA file {path} holds no state dict.", "Download the file again.")
    return data


def normalise_peft_keys(state: dict[str, Any]) -> dict[str, Any]:
    """Map every key to ``<module>.lora_A.weight`` / ``<module>.lora_B.weight``; unknown keys are errors."""
    out: dict[str, Any] = {}
    bad = []
    for key, tensor in state.items():
        m = _PEFT_KEY.match(key)
        if not m:
            bad.append(key)
            continue
        out[f"{m['module']}.lora_{m['ab']}.weight"] = tensor
    if bad:
        raise LoraKeyError(f"{len(bad)} key(s) in the LoRA file are not LoRA weights, e.g. {bad[:3]}.",
                           rank=None, examples=bad[:5])
    return out


def infer_rank(state: dict[str, Any], expected_rank: int | None = None) -> int:
    """The one rank shared by every A (rows) and B (columns) matrix; mismatches are errors."""
    ranks = {}
    for key, t in state.items():
        if t.ndim != 2:
            raise LoraKeyError(f"LoRA tensor {key} has shape {tuple(t.shape)}, expected a matrix.")
        ranks.setdefault(int(t.shape[0] if ".lora_A." in key else t.shape[1]), key)
    if not ranks:
        raise LoraKeyError("The LoRA file holds no lora_A/lora_B matrices.")
    if len(ranks) > 1:
        raise LoraRankError(f"The LoRA tensors disagree on the rank: {sorted(ranks)} (e.g. {list(ranks.values())[:2]}).",
                            "The file is damaged or merges two adapters; re-export it from one training run.")
    rank = next(iter(ranks))
    if expected_rank and expected_rank != rank:
        raise LoraRankError(f"The LoRA file has rank {rank} but rank {expected_rank} was required (t2i.lora_rank).",
                            rank=rank, expected=expected_rank)
    return rank


def _check_targets(transformer: Any, state: dict[str, Any]) -> list[str]:
    """Every module named by the file exists as a Linear whose shape fits its A and B matrices."""
    import torch

    modules = dict(transformer.named_modules())
    names = sorted({k.rsplit(".lora_", 1)[0] for k in state})
    missing = [n for n in names if n not in modules]
    if missing:
        raise LoraKeyError(f"{len(missing)} of {len(names)} LoRA target modules do not exist in the transformer, "
                           f"e.g. {missing[:3]}.", examples=missing[:5])
    for n in names:
        mod = modules[n]
        a, b = state.get(f"{n}.lora_A.weight"), state.get(f"{n}.lora_B.weight")
        if a is None or b is None:
            raise LoraKeyError(f"LoRA module {n} has only one of its lora_A/lora_B matrices.")
        if not isinstance(mod, torch.nn.Linear):
            raise LoraKeyError(f"LoRA target {n} is a {type(mod).__name__}, not a Linear layer.")
        if a.shape[1] != mod.in_features or b.shape[0] != mod.out_features:
            raise LoraKeyError(f"LoRA for {n} is {b.shape[0]}x{a.shape[1]} but the layer is "
                               f"{mod.out_features}x{mod.in_features}: it was trained for another model size.")
    return names


def _inject_peft(transformer: Any, state: dict[str, Any], rank: int, alpha: float) -> int:
    from peft import LoraConfig, set_peft_model_state_dict

    names = _check_targets(transformer, state)
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=names, init_lora_weights=False)
    transformer.add_adapter(config, adapter_name=ADAPTER_NAME)
    result = set_peft_model_state_dict(transformer, state, adapter_name=ADAPTER_NAME)
    unexpected = [k for k in (getattr(result, "unexpected_keys", None) or []) if "lora_" in k]
    missing = [k for k in (getattr(result, "missing_keys", None) or []) if "lora_" in k and ADAPTER_NAME in k]
    if unexpected or missing:
        raise LoraKeyError(f"peft did not place all LoRA weights: {len(unexpected)} unexpected, {len(missing)} "
                           f"missing (e.g. {(unexpected or missing)[:3]}).")
    return len(names)


def _lora_layers(transformer: Any) -> dict[str, Any]:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return {n: m for n, m in transformer.named_modules()
            if isinstance(m, BaseTunerLayer) and ADAPTER_NAME in getattr(m, "lora_A", {})}


def load_lora(pipe: Any, path: str | Path, scale: float = 1.0, alpha: float = 0.0, expected_rank: int | None = None,
              fuse: bool = True) -> LoraInfo:
    """Load, verify and (by default) fuse a LoRA; raises :class:`LoraError` rather than run without it."""
    import torch

    path = Path(path)
    fmt = detect_format(path)
    transformer = pipe.transformer
    if fmt == "peft_pth":
        state = normalise_peft_keys(read_peft_state_dict(path))
        rank = infer_rank(state, expected_rank)
        alpha = float(alpha) if alpha else float(rank)
        expected_modules = _inject_peft(transformer, state, rank, alpha)
    else:
        from safetensors import safe_open

        file = path / "pytorch_lora_weights.safetensors" if path.is_dir() else path
        try:
            with safe_open(str(file), framework="pt") as fh:
                keys = list(fh.keys())
                shapes = {k: fh.get_slice(k).get_shape() for k in keys}
        except Exception as exc:
            raise LoraError(f"Cannot read LoRA file {file}: {exc}.", "Download or export the file again.") from None
        ranks = {s[0] for k, s in shapes.items() if ".lora_A." in k} | {s[1] for k, s in shapes.items()
                                                                       if ".lora_B." in k}
        if len(ranks) > 1:
            raise LoraRankError(f"The LoRA tensors in {file.name} disagree on the rank: {sorted(ranks)}.")
        rank = next(iter(ranks), 0)
        if expected_rank and rank and expected_rank != rank:
            raise LoraRankError(f"The LoRA file has rank {rank} but rank {expected_rank} was required (t2i.lora_rank).")
        expected_modules = len({k.split(".lora_A.")[0] for k in keys if k.startswith("transformer.") and ".lora_A." in k})
        try:
            pipe.load_lora_weights(str(file), adapter_name=ADAPTER_NAME)
        except Exception as exc:  # diffusers raises ValueError/KeyError/RuntimeError on bad files
            raise LoraKeyError(f"diffusers could not load {file.name}: {exc}") from None
        alpha = float(rank)
    layers = _lora_layers(transformer)
    if not layers or (expected_modules and len(layers) != expected_modules):
        raise LoraKeyError(f"The LoRA reached {len(layers)} transformer layers, the file describes "
                           f"{expected_modules}: the adapter did not load.")
    if all(float(m.lora_B[ADAPTER_NAME].weight.detach().abs().max()) == 0.0 for m in layers.values()):
        raise LoraError(f"Every lora_B matrix in {path.name} is zero: the adapter would change nothing.",
                        "This is an untrained adapter; use the weights saved after training.")
    probe_name = next(iter(layers))
    before = layers[probe_name].get_base_layer().weight.detach().float().clone()
    max_change = 0.0
    if fuse:
        pipe.fuse_lora(components=["transformer"], lora_scale=scale, adapter_names=[ADAPTER_NAME])
        pipe.unload_lora_weights()
        after = dict(transformer.named_modules())[probe_name].weight.detach().float()
        max_change = float((after - before).abs().max())
        if not torch.isfinite(after).all() or max_change == 0.0:
            raise LoraError(f"Fusing the LoRA left {probe_name} {'non-finite' if max_change else 'unchanged'}.",
                            "Check the file and the lora_scale setting (it must not be 0).")
    else:
        for module in layers.values():
            module.set_scale(ADAPTER_NAME, scale)
    return LoraInfo(path=str(path), format=fmt, rank=rank, alpha=alpha, scale=scale, modules=len(layers),
                    fused=fuse, max_weight_change=max_change)
