"""Memory-mode choice from free memory (real parameter sizes of the tiny pipeline), speed-option rules, builders."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from imaginarium.core.errors import ConfigError
from imaginarium.core.t2i.memory import GIB, module_bytes, plan_memory
from imaginarium.core.t2i.options import normalise_memory_mode
from imaginarium.core.t2i.speed import SpeedOptions


@pytest.fixture(scope="module")
def flux_dev_on_meta():
    """FLUX.1-dev's real component shapes in bf16 on the meta device: true byte counts, no memory used."""
    import torch
    from diffusers import AutoencoderKL, FluxTransformer2DModel
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    from imaginarium.testkit import random_models as rb

    with torch.device("meta"):
        return SimpleNamespace(transformer=FluxTransformer2DModel(**rb.FULL_TRANSFORMER).to(torch.bfloat16),
                               text_encoder=CLIPTextModel(CLIPTextConfig(**rb.FULL_CLIP)).to(torch.bfloat16),
                               text_encoder_2=T5EncoderModel(T5Config(**rb.FULL_T5)).to(torch.bfloat16),
                               vae=AutoencoderKL(**rb.FULL_VAE).to(torch.bfloat16))


@pytest.mark.parametrize("free_gib, mode", [(79, "gpu"), (40, "gpu"), (34, "encoders_offload"), (28, "encoders_offload"),
                                            (22.5, "group_offload"), (4, "sequential_cpu_offload")])
def test_auto_mode_from_free_memory_at_flux_dev_size(flux_dev_on_meta, free_gib, mode):
    plan = plan_memory(flux_dev_on_meta, 1024, 1024, "auto", free_bytes=int(free_gib * GIB), device="cuda")
    assert plan.mode == mode, plan.reason
    assert plan.vae_tiling == (mode in ("group_offload", "sequential_cpu_offload"))


def test_fp8_storage_lets_a_24gb_card_keep_the_transformer(flux_dev_on_meta):
    import torch

    assert 22 * GIB < module_bytes(flux_dev_on_meta.transformer) < 23 * GIB
    fp8 = SimpleNamespace(**{**vars(flux_dev_on_meta),
                             "transformer": flux_dev_on_meta.transformer.to(torch.float8_e4m3fn)})
    assert plan_memory(fp8, 1024, 1024, "auto", free_bytes=int(22.5 * GIB), device="cuda").mode == "encoders_offload"


def test_cpu_device_keeps_everything_on_it(tiny_pipe):
    assert plan_memory(tiny_pipe, 64, 64, "auto", device="cpu").mode == "gpu"


def test_override_and_aliases(tiny_pipe):
    plan = plan_memory(tiny_pipe, 1024, 1024, "model_offload", free_bytes=80 * GIB, device="cuda")
    assert plan.mode == "model_cpu_offload" and plan.reason == "chosen in settings"
    assert plan_memory(tiny_pipe, 2048, 2048, "gpu", free_bytes=80 * GIB, device="cuda").vae_tiling  # 4 MP
    assert not plan_memory(tiny_pipe, 2048, 2048, "gpu", "off", free_bytes=80 * GIB, device="cuda").vae_tiling
    assert normalise_memory_mode("sequential_offload") == "sequential_cpu_offload"
    with pytest.raises(ConfigError):
        plan_memory(tiny_pipe, 64, 64, "gpu", "sometimes", device="cuda")


def test_fp8_with_compile_is_refused():
    with pytest.raises(ConfigError, match="cannot be combined"):
        SpeedOptions(fp8=True, compile=True)
    with pytest.raises(ConfigError):
        SpeedOptions(compile_mode="ludicrous")


def test_fused_qkv_gives_the_same_image_and_frees_the_copies(tiny_flux_dir):
    from imaginarium.core.t2i.engine import EngineConfig, T2IEngine
    from imaginarium.core.t2i.options import GenerationOptions

    opts = GenerationOptions(prompt="a study", width=32, height=32, steps=2, max_sequence_length=32)
    cfg = dict(model=str(tiny_flux_dir), device="cpu", width=32, height=32)
    plain = T2IEngine.from_config(EngineConfig(**cfg))
    fused = T2IEngine.from_config(EngineConfig(**cfg, speed=SpeedOptions(fuse_qkv=True)))
    children = dict(fused.pipe.transformer.transformer_blocks[0].attn.named_children())
    assert "to_qkv" in children and "to_q" not in children
    a = np.asarray(plain.generate(opts)[0], dtype=np.float32)
    b = np.asarray(fused.generate(opts)[0], dtype=np.float32)
    assert np.abs(a - b).max() <= 1.0


def test_meta_device_builder_fills_every_parameter():
    """The path the benchmark uses for the 12B transformer, exercised at tiny size."""
    import torch
    from diffusers import FluxTransformer2DModel

    from imaginarium.testkit.random_models import TINY_TRANSFORMER, _materialise

    model = _materialise(FluxTransformer2DModel, dict(TINY_TRANSFORMER), "cpu", torch.bfloat16, seed=0)
    assert all(p.device.type == "cpu" and p.dtype == torch.bfloat16 for p in model.parameters())
    assert all(torch.isfinite(p).all() and p.float().abs().sum() > 0 for p in model.parameters())
