"""The published Imaginarium checkpoints in their original repositories' formats, converted to transformers.

An Imaginarium user already has ``dinov2_vitl14.pth`` (facebookresearch/dinov2's ViT state
dict) and ``depth_anything_v2_metric_hypersim_vitl.pth`` (the Depth Anything V2 repository's
``DepthAnythingV2`` state dict). Setting the DINOv2 or depth model to such a file works: on
first use the tensors are renamed (and the fused ``qkv`` projection split) into the layout of
transformers' ``Dinov2Model`` / ``DepthAnythingForDepthEstimation``, the architecture is read
off the tensor shapes, and the result is saved as a normal transformers folder
(``config.json`` + ``model.safetensors``) beside the file — or under ``models.converted_dir``
when that folder is read-only. Later runs load the cached folder; it is rebuilt when the
``.pth`` changes (size and modification time are recorded with it).

The file is read with ``torch.load(weights_only=True)``: no code in it ever runs. A file that
is something else (another model, a transformers state dict, not a checkpoint) is a
BadInputError that says what it looks like.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import BadInputError

CONVERTER_VERSION = 1
STAMP = "imaginarium_converted.json"
HEAD_DIM = 64  # every DINOv2 size (S/B/L/g) uses 64-dimensional attention heads
# Depth Anything V2: backbone blocks whose outputs feed the DPT head, by depth (its `intermediate_layer_idx`).
DA_LAYERS = {12: (2, 5, 8, 11), 24: (4, 11, 17, 23), 40: (9, 19, 29, 39)}
DINOV2 = "dinov2"
DEPTH = "depth_anything_v2"

_BLOCK = re.compile(r"^blocks\.(?:\d+\.)?(\d+)\.(.+)$")  # plain or chunked ("blocks.<chunk>.<i>.…")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The state dict in a .pth file (unwrapping ``{"model": …}`` and ``module.`` prefixes), tensors only."""
    import torch

    try:
        try:
            data = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # files written before torch's zip format cannot be memory-mapped
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise BadInputError(f"{path} does not exist.", "Check the model setting in the add-on preferences.") from None
    except Exception as exc:  # noqa: BLE001 — pickle/zip/torch errors all mean "not a checkpoint we can read safely"
        raise BadInputError(f"{path.name} is not a PyTorch checkpoint that can be read safely ({type(exc).__name__}).",
                            "Use the original dinov2_vitl14.pth / depth_anything_v2_metric_hypersim_vitl.pth, or a "
                            "transformers model folder.") from None
    for key in ("model", "state_dict", "module"):
        if isinstance(data, dict) and isinstance(data.get(key), dict) and len(data) <= 4:
            data = data[key]
    if not isinstance(data, dict) or not data or not all(isinstance(k, str) for k in data):
        raise BadInputError(f"{path.name} does not hold a state dict.", "Use the original checkpoint file.")
    return {re.sub(r"^(module\.|backbone\.)", "", k): v for k, v in data.items() if isinstance(v, torch.Tensor)}


def layout_of(sd: dict[str, Any]) -> str:
    """Which original layout a state dict is in: DINOv2, Depth Anything V2, or a description of what it is."""
    keys = set(sd)
    if any(k.startswith("pretrained.") for k in keys) and any(k.startswith("depth_head.") for k in keys):
        return DEPTH
    if {"cls_token", "pos_embed", "patch_embed.proj.weight"} <= keys and any(_BLOCK.match(k) for k in keys):
        return DINOV2
    if any(k.startswith(("embeddings.", "backbone.embeddings.", "encoder.layer.")) for k in keys):
        return "a state dict already in the transformers layout"
    sample = ", ".join(sorted(keys)[:3])
    return f"an unknown model (first keys: {sample})"


# ---- DINOv2 (facebookresearch) -----------------------------------------------------------

def _vit_config(sd: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Dinov2Config values read off the tensor shapes of a facebookresearch ViT."""
    if f"{prefix}register_tokens" in sd:
        raise BadInputError("This DINOv2 checkpoint has register tokens (a '_reg' model).",
                            "Use dinov2_vitl14.pth without registers, or the transformers facebook/dinov2-large.")
    if any(k.startswith(prefix + "blocks.") and ".mlp.w12." in k for k in sd):
        raise BadInputError("This DINOv2 checkpoint uses SwiGLU layers (ViT-g), which this converter does not map.",
                            "Use a ViT-S/B/L checkpoint (dinov2_vitl14.pth), or the transformers "
                            "facebook/dinov2-giant.")
    hidden = int(sd[prefix + "cls_token"].shape[-1])
    patch = int(sd[prefix + "patch_embed.proj.weight"].shape[-1])
    tokens = int(sd[prefix + "pos_embed"].shape[1]) - 1
    side = int(round(tokens ** 0.5))
    if side * side != tokens:
        raise BadInputError(f"The position embedding has {tokens} patch tokens, not a square grid.",
                            "Use the original checkpoint file.")
    blocks = {int(m.group(1)) for k in sd if (m := _BLOCK.match(k[len(prefix):] if k.startswith(prefix) else ""))}
    if not blocks or blocks != set(range(len(blocks))):
        raise BadInputError("The checkpoint's transformer blocks are not numbered 0…n-1.", "Use the original file.")
    fc1 = [v for k, v in sd.items() if k.startswith(prefix + "blocks.") and k.endswith("mlp.fc1.weight")]
    if not fc1:
        raise BadInputError("The checkpoint's blocks have no mlp.fc1 layer.", "Use the original checkpoint file.")
    mlp = int(fc1[0].shape[0])
    return dict(hidden_size=hidden, num_hidden_layers=len(blocks), num_attention_heads=max(1, hidden // HEAD_DIM),
                intermediate_size=mlp, mlp_ratio=mlp // hidden, patch_size=patch, image_size=side * patch,
                layerscale_value=1.0, layer_norm_eps=1e-6, qkv_bias=True, use_swiglu_ffn=False)


def vit_state_dict(sd: dict[str, Any], prefix: str = "", out_prefix: str = "") -> dict[str, Any]:
    """facebookresearch ViT tensors → transformers Dinov2 names (``qkv`` split into q, k, v)."""
    out: dict[str, Any] = {}
    simple = {"cls_token": "embeddings.cls_token", "pos_embed": "embeddings.position_embeddings",
              "mask_token": "embeddings.mask_token",
              "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
              "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
              "norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias"}
    block_names = {"norm1": "norm1", "norm2": "norm2", "attn.proj": "attention.o_proj", "mlp.fc1": "mlp.fc1",
                   "mlp.fc2": "mlp.fc2", "ls1.gamma": "layer_scale1.lambda1", "ls2.gamma": "layer_scale2.lambda1"}
    for key, value in sd.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if name in simple:
            if name == "mask_token":
                value = value.reshape(1, -1)
            out[out_prefix + simple[name]] = value
            continue
        m = _BLOCK.match(name)
        if m is None:
            continue
        i, rest = m.group(1), m.group(2)
        base = f"{out_prefix}encoder.layer.{i}."
        if rest.startswith("attn.qkv."):
            q, k, v = value.chunk(3, dim=0)
            kind = rest.rsplit(".", 1)[1]
            out[base + f"attention.q_proj.{kind}"], out[base + f"attention.k_proj.{kind}"] = q, k
            out[base + f"attention.v_proj.{kind}"] = v
            continue
        stem, _, kind = rest.rpartition(".")
        if rest in block_names:       # ls1.gamma / ls2.gamma have no .weight/.bias suffix
            out[base + block_names[rest]] = value
        elif stem in block_names:
            out[base + f"{block_names[stem]}.{kind}"] = value
    return out


def dinov2_from_original(sd: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(Dinov2Config, state dict) for ``Dinov2Model`` from a facebookresearch DINOv2 state dict."""
    from transformers import Dinov2Config

    config = Dinov2Config(**_vit_config(sd, ""))
    out = vit_state_dict(sd)
    if "embeddings.mask_token" not in out:  # only used for masked pre-training; absent from some exports
        import torch
        out["embeddings.mask_token"] = torch.zeros(1, config.hidden_size, dtype=out["embeddings.cls_token"].dtype)
    return config, out


# ---- Depth Anything V2 (its own repository) ----------------------------------------------

def depth_anything_from_original(sd: dict[str, Any], max_depth: float) -> tuple[Any, dict[str, Any]]:
    """(DepthAnythingConfig, state dict) for ``DepthAnythingForDepthEstimation`` from a ``DepthAnythingV2`` one."""
    from transformers import DepthAnythingConfig, Dinov2Config

    vit = _vit_config(sd, "pretrained.")
    layers = DA_LAYERS.get(vit["num_hidden_layers"])
    if layers is None:
        raise BadInputError(f"A Depth Anything V2 backbone of {vit['num_hidden_layers']} blocks is not a released "
                            "size.",
                            "Use depth_anything_v2_metric_hypersim_vitl.pth (or vits/vitb).")
    try:
        neck = [int(sd[f"depth_head.projects.{i}.weight"].shape[0]) for i in range(4)]
        fusion = int(sd["depth_head.scratch.layer1_rn.weight"].shape[0])
        head = int(sd["depth_head.scratch.output_conv2.0.weight"].shape[0])
    except KeyError as exc:
        raise BadInputError(f"The depth head lacks {exc.args[0]}: not a Depth Anything V2 checkpoint.",
                            "Use depth_anything_v2_metric_hypersim_vitl.pth.") from None
    if any(k.startswith("depth_head.projects.") and ".readout" in k for k in sd) or \
            any(k.startswith("depth_head.readout_projects.") for k in sd):
        raise BadInputError("This DPT head uses the class token (use_clstoken), which the released models do not.",
                            "Use depth_anything_v2_metric_hypersim_vitl.pth.")
    backbone = Dinov2Config(**vit, out_indices=[i + 1 for i in layers], reshape_hidden_states=False,
                            apply_layernorm=True)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=vit["hidden_size"],
                                 neck_hidden_sizes=neck, fusion_hidden_size=fusion, head_hidden_size=head,
                                 patch_size=vit["patch_size"], depth_estimation_type="metric",
                                 max_depth=int(round(max_depth)), reassemble_factors=[4, 2, 1, 0.5])
    out = vit_state_dict(sd, "pretrained.", "backbone.")
    if "backbone.embeddings.mask_token" not in out:
        import torch
        out["backbone.embeddings.mask_token"] = torch.zeros(1, vit["hidden_size"])
    head_map = {"output_conv1": "head.conv1", "output_conv2.0": "head.conv2", "output_conv2.2": "head.conv3"}
    for key, value in sd.items():
        if not key.startswith("depth_head."):
            continue
        name, _, kind = key[len("depth_head."):].rpartition(".")
        new = None
        if m := re.fullmatch(r"projects\.(\d)", name):
            new = f"neck.reassemble_stage.layers.{m.group(1)}.projection"
        elif m := re.fullmatch(r"resize_layers\.(\d)", name):
            new = f"neck.reassemble_stage.layers.{m.group(1)}.resize"
        elif m := re.fullmatch(r"scratch\.layer(\d)_rn", name):
            new = f"neck.convs.{int(m.group(1)) - 1}"
        elif m := re.fullmatch(r"scratch\.refinenet(\d)\.(out_conv|resConfUnit(\d)\.conv(\d))", name):
            layer = 4 - int(m.group(1))  # refinenet4 fuses first in the original, layer 0 in transformers
            part = "projection" if m.group(2) == "out_conv" else \
                f"residual_layer{m.group(3)}.convolution{m.group(4)}"
            new = f"neck.fusion_stage.layers.{layer}.{part}"
        elif name.startswith("scratch.") and name[len("scratch."):] in head_map:
            new = head_map[name[len("scratch."):]]
        if new is None:
            raise BadInputError(f"Unexpected tensor depth_head.{name}.{kind} for a Depth Anything V2 head.",
                                "Use depth_anything_v2_metric_hypersim_vitl.pth.")
        out[f"{new}.{kind}"] = value
    return config, out


# ---- conversion with a cache ----------------------------------------------------------------

def converted_folder(path: str | os.PathLike[str], kind: str, *, max_depth: float = 20.0,
                     cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """A transformers folder for the original-format checkpoint ``path`` (converted once, then reused)."""
    src = Path(path).expanduser()
    if not src.is_file():
        raise BadInputError(f"{src} does not exist.", "Check the model setting in the add-on preferences.")
    if kind == DEPTH and "metric" not in src.name.lower():
        raise BadInputError(f"{src.name} does not look like a *metric* Depth Anything V2 checkpoint (relative-depth "
                            "models predict disparity, not metres).",
                            "Use depth_anything_v2_metric_hypersim_vitl.pth (rename your file to include 'metric' "
                            "if it is a metric model).")
    st = src.stat()
    stamp = {"source": src.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "kind": kind,
             "converter": CONVERTER_VERSION, "max_depth": int(round(max_depth)) if kind == DEPTH else None}
    for folder in _cache_candidates(src, cache_dir):
        if _stamp_matches(folder, stamp):
            return folder
    sd = load_checkpoint(src)
    found = layout_of(sd)
    if found != kind:
        wanted = "a DINOv2 (facebookresearch) checkpoint" if kind == DINOV2 else "a Depth Anything V2 checkpoint"
        found_text = {DINOV2: "a DINOv2 backbone", DEPTH: "a Depth Anything V2 depth model"}.get(found, found)
        raise BadInputError(f"{src.name} is {found_text}, not {wanted}.",
                            "Point the setting at the right file (dinov2_vitl14.pth for DINOv2, "
                            "depth_anything_v2_metric_hypersim_vitl.pth for depth).")
    config, tensors = dinov2_from_original(sd) if kind == DINOV2 else depth_anything_from_original(sd, max_depth)
    model = _build(kind, config, tensors, src.name)
    last_error: OSError | None = None
    for folder in _cache_candidates(src, cache_dir):
        try:
            _save_atomically(model, folder, stamp)
            return folder
        except OSError as exc:  # a read-only weights folder: try the user cache next
            last_error = exc
    raise BadInputError(f"Cannot write the converted model for {src.name} ({last_error}).",
                        "Make the weights folder writable, or set models.converted_dir to a writable folder.")


def _build(kind: str, config: Any, tensors: dict[str, Any], name: str) -> Any:
    """The transformers model with exactly these tensors (a missing or extra one is an error, not a guess)."""
    import torch
    from transformers import DepthAnythingForDepthEstimation, Dinov2Model

    cls = Dinov2Model if kind == DINOV2 else DepthAnythingForDepthEstimation
    with torch.device("meta"):
        model = cls(config)
    expected = set(model.state_dict())
    missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
    if missing or extra:
        raise BadInputError(f"{name} does not map onto the transformers model: missing {missing[:3]}, "
                            f"unexpected {extra[:3]}.", "Use the original checkpoint file, unmodified.")
    try:
        model.load_state_dict({k: v.contiguous() for k, v in tensors.items()}, strict=True, assign=True)
    except RuntimeError as exc:
        raise BadInputError(f"{name}: tensor shapes do not fit the model read off it ({str(exc)[:200]}).",
                            "Use the original checkpoint file, unmodified.") from None
    return model.eval()


def _cache_candidates(src: Path, cache_dir: str | os.PathLike[str] | None) -> list[Path]:
    import hashlib

    beside = src.parent / (src.name + ".transformers")
    user = Path(os.path.expanduser(str(cache_dir or "~/.cache/imaginarium/converted")))
    tag = hashlib.sha1(str(src.resolve()).encode()).hexdigest()[:10]
    return [beside, user / f"{src.stem}-{tag}"]


def _stamp_matches(folder: Path, stamp: dict[str, Any]) -> bool:
    try:
        return json.loads((folder / STAMP).read_text(encoding="utf-8")) == stamp and \
            (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    except (OSError, ValueError):
        return False


def _save_atomically(model: Any, folder: Path, stamp: dict[str, Any]) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix="." + folder.name + "."))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        (tmp / STAMP).write_text(json.dumps(stamp), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_published(spec: Any, path: Path, settings: Any = None) -> list[str]:
    """Verify for an original-format file: it converts (problems as text; empty when it does)."""
    kind = DINOV2 if spec.key == "dinov2" else DEPTH
    max_depth = float(settings.depth.max_depth_m) if settings is not None else 20.0
    cache_dir = settings.models.converted_dir if settings is not None else None
    try:
        converted_folder(path, kind, max_depth=max_depth, cache_dir=cache_dir)
    except BadInputError as exc:
        return [exc.one_line()]
    return []
