"""LoRA loading through the real FluxPipeline: both formats change the output; bad files fail loudly."""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.t2i.engine import EngineConfig, T2IEngine
from imaginarium.core.t2i.lora import LoraError, LoraKeyError, LoraRankError, load_lora
from imaginarium.core.t2i.options import GenerationOptions

from .conftest import RANK

OPTS = dict(prompt="a cozy living room", width=32, height=32, steps=2, max_sequence_length=32, seed=7)


def _image(engine: T2IEngine) -> np.ndarray:
    return np.asarray(engine.generate(GenerationOptions(**OPTS))[0], dtype=np.float32)


def _engine(tiny_flux_dir, **kw) -> T2IEngine:
    return T2IEngine.from_config(EngineConfig(model=str(tiny_flux_dir), device="cpu", width=32, height=32, **kw))


@pytest.fixture(scope="module")
def base_image(tiny_flux_dir) -> np.ndarray:
    return _image(_engine(tiny_flux_dir))


@pytest.mark.parametrize("fmt", ["diffusers", "pth"])
def test_lora_loads_fuses_and_changes_the_image(fmt, tiny_flux_dir, lora_files, base_image):
    engine = _engine(tiny_flux_dir, lora=str(lora_files[fmt]))
    assert engine.lora is not None
    assert engine.lora.format == ("diffusers" if fmt == "diffusers" else "peft_pth")
    assert engine.lora.rank == RANK
    assert engine.lora.modules == 4 + 3  # one double block: q,k,v,out; one single block: q,k,v
    assert engine.lora.max_weight_change > 0
    # fused and unloaded: no peft layers remain, the weights themselves carry the LoRA
    assert not any("lora" in n for n, _ in engine.pipe.transformer.named_parameters())
    # a real change of the picture, far above rounding (scale 0 stays within 1 level: see below);
    # measured 2026-11-26: mean 11.4 / 6.8 levels, 55 % / 28 % of pixel values moved by more than 8
    diff = np.abs(_image(engine) - base_image)
    assert diff.mean() > 3.0 and (diff > 8).mean() > 0.1, (float(diff.mean()), float((diff > 8).mean()))


def test_same_seed_same_image_without_lora(tiny_flux_dir, base_image):
    assert np.array_equal(_image(_engine(tiny_flux_dir)), base_image)


def test_unfused_lora_scale_zero_equals_base(tiny_pipe, lora_files, base_image):
    info = load_lora(tiny_pipe, lora_files["pth"], scale=0.0, fuse=False)
    assert info.rank == RANK and not info.fused
    engine = T2IEngine.from_config(EngineConfig(device="cpu", width=32, height=32), pipe=tiny_pipe)
    assert np.abs(_image(engine) - base_image).max() <= 1.0


def test_required_rank_mismatch_is_a_clear_error(tiny_pipe, lora_files):
    for fmt in ("pth", "diffusers"):
        with pytest.raises(LoraRankError, match=f"rank {RANK} but rank 32"):
            load_lora(tiny_pipe, lora_files[fmt], expected_rank=32)


def test_inconsistent_ranks_in_file(tiny_pipe, lora_files):
    with pytest.raises(LoraRankError, match="disagree on the rank"):
        load_lora(tiny_pipe, lora_files["mixed_rank"])


def test_keys_for_another_model_fail(tiny_pipe, lora_files):
    with pytest.raises(LoraKeyError, match="do not exist in the transformer") as info:
        load_lora(tiny_pipe, lora_files["foreign"])
    assert "FLUX.1-dev" in info.value.fix


def test_diffusers_file_for_another_model_fails(tiny_pipe, lora_files):
    with pytest.raises(LoraKeyError, match="did not load|could not load"):
        load_lora(tiny_pipe, lora_files["foreign_diffusers"])


def test_zero_adapter_is_refused(tiny_pipe, lora_files):
    with pytest.raises(LoraError, match="is zero"):
        load_lora(tiny_pipe, lora_files["zero"])


def test_missing_file_names_the_download(tiny_pipe, tmp_path):
    with pytest.raises(LoraError, match="does not exist") as info:
        load_lora(tiny_pipe, tmp_path / "imaginarium_finetuned_flux.pth")
    assert "weights" in info.value.fix


def test_non_lora_keys_fail(tiny_pipe, tmp_path):
    import torch

    torch.save({"transformer_blocks.0.attn.to_q.weight": torch.zeros(4, 4)}, tmp_path / "full.pth")
    with pytest.raises(LoraKeyError, match="not LoRA weights"):
        load_lora(tiny_pipe, tmp_path / "full.pth")
