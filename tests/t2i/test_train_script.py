"""scripts/train_flux_lora.py: two steps on two tiny images write a LoRA our loader accepts and that changes images."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT


def _script():
    spec = importlib.util.spec_from_file_location("train_flux_lora", ROOT / "scripts" / "train_flux_lora.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _data(folder: Path, captions: bool = True) -> Path:
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)).save(folder / f"room_{i}.png")
        if captions:
            (folder / f"room_{i}.txt").write_text(f"a living room with a sofa number {i}", encoding="utf-8")
    return folder


def test_two_steps_write_loadable_weights_and_samples(tiny_flux_dir, tmp_path):
    from imaginarium.core.t2i.engine import EngineConfig, T2IEngine

    out = tmp_path / "lora"
    rc = _script().main(["--model", str(tiny_flux_dir), "--data", str(_data(tmp_path / "data")), "--output", str(out),
                         "--rank", "4", "--alpha", "4", "--lr", "1e-2", "--steps", "2", "--resolution", "32",
                         "--sample-prompt", "a bedroom", "--sample-steps", "2", "--max-sequence-length", "32"])
    assert rc == 0
    weights = out / "pytorch_lora_weights.safetensors"
    assert weights.is_file() and (out / "samples" / "sample_00.png").is_file()
    record = json.loads((out / "training.json").read_text())
    assert len(record["losses"]) == 2 and all(np.isfinite(record["losses"]))

    cfg = dict(model=str(tiny_flux_dir), device="cpu", width=32, height=32)
    with_lora = T2IEngine.from_config(EngineConfig(**cfg, lora=str(weights)))
    assert with_lora.lora.rank == 4 and with_lora.lora.modules == 7
    # two steps from B = 0 (peft's start): the fused weights moved by 0.028 at most (measured 2026-11-26). The
    # picture itself changes only within rounding after two steps, so its change is checked with a real LoRA
    # in test_lora.py, not here.
    assert with_lora.lora.max_weight_change > 0.01


def test_images_without_captions_are_refused(tiny_flux_dir, tmp_path):
    from imaginarium.core.errors import BadInputError

    with pytest.raises(BadInputError, match="has no caption"):
        _script().main(["--model", str(tiny_flux_dir), "--data", str(_data(tmp_path / "d", captions=False)),
                        "--output", str(tmp_path / "o"), "--steps", "1", "--resolution", "32"])
