"""Session fixtures: one tiny random FLUX pipeline saved to disk, and LoRA files in both formats made from it.

Built once per session (a few seconds) so every test loads the real folder through the real code.
"""
from __future__ import annotations

from pathlib import Path

import pytest

RANK = 4
TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]


def _random_lora_state(transformer, rank: int = RANK, seed: int = 1) -> dict:
    """A peft state dict (``<module>.lora_A.weight`` …) with random, non-zero A and B for every target."""
    import torch
    from peft import LoraConfig, get_peft_model_state_dict

    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=TARGETS, init_lora_weights=False)
    transformer.add_adapter(config, adapter_name="tmp")
    gen = torch.Generator().manual_seed(seed)
    state = get_peft_model_state_dict(transformer, adapter_name="tmp")
    state = {k: torch.randn(v.shape, generator=gen) * 0.5 for k, v in state.items()}
    transformer.delete_adapters("tmp")
    return state


@pytest.fixture(scope="session")
def tiny_flux_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from imaginarium.testkit.random_models import build_random_flux

    folder = tmp_path_factory.mktemp("tiny-flux")
    pipe = build_random_flux("tiny", folder=folder / "build")
    pipe.save_pretrained(folder / "FLUX-tiny")
    return folder / "FLUX-tiny"


@pytest.fixture(scope="session")
def lora_files(tiny_flux_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``diffusers`` (pytorch_lora_weights.safetensors), ``pth`` (raw peft, Imaginarium style) and broken variants."""
    import torch
    from diffusers import FluxPipeline, FluxTransformer2DModel

    out = tmp_path_factory.mktemp("loras")
    transformer = FluxTransformer2DModel.from_pretrained(tiny_flux_dir / "transformer", local_files_only=True)
    state = _random_lora_state(transformer)
    FluxPipeline.save_lora_weights(out / "diffusers", transformer_lora_layers=state)
    files = {"diffusers": out / "diffusers" / "pytorch_lora_weights.safetensors"}
    # The release file: peft keys as a PeftModel's state_dict() spells them.
    raw = {f"base_model.model.{k.replace('.weight', '.default.weight')}": v for k, v in
           _random_lora_state(transformer, seed=2).items()}
    torch.save(raw, out / "imaginarium_finetuned_flux.pth")
    files["pth"] = out / "imaginarium_finetuned_flux.pth"
    mixed = dict(_random_lora_state(transformer, seed=3))
    first_a = next(k for k in mixed if ".lora_A." in k)
    mixed[first_a] = torch.randn(RANK + 2, mixed[first_a].shape[1])
    torch.save(mixed, out / "mixed_rank.pth")
    files["mixed_rank"] = out / "mixed_rank.pth"
    foreign = {k.replace("transformer_blocks.", "blocks_of_another_model."): v for k, v in
               _random_lora_state(transformer, seed=4).items()}
    torch.save(foreign, out / "foreign.pth")
    files["foreign"] = out / "foreign.pth"
    FluxPipeline.save_lora_weights(out / "foreign_diffusers", transformer_lora_layers=foreign)
    files["foreign_diffusers"] = out / "foreign_diffusers" / "pytorch_lora_weights.safetensors"
    zero = {k: (torch.zeros_like(v) if ".lora_B." in k else v) for k, v in _random_lora_state(transformer).items()}
    torch.save(zero, out / "zero.pth")
    files["zero"] = out / "zero.pth"
    return files


@pytest.fixture()
def tiny_pipe(tiny_flux_dir: Path):
    """A fresh pipeline per test (LoRA fusing changes weights in place)."""
    from imaginarium.core.t2i.loading import load_pipeline

    return load_pipeline(str(tiny_flux_dir), device="cpu")
