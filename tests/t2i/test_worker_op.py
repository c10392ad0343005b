"""The ``generate_images`` op through the worker registry: progress per step, cancel between steps, PNG metadata."""
from __future__ import annotations

from pathlib import Path

import pytest

from imaginarium.core.errors import BadInputError, CancelledError, ConfigError
from imaginarium.core.t2i.engine import read_png_metadata
from imaginarium.core.worker.context import JobContext
from imaginarium.core.worker.registry import resolve


def _params(tiny_flux_dir: Path, run_dir: Path, **kw) -> dict:
    base = dict(prompt="a bedroom with a wardrobe", model=str(tiny_flux_dir), lora="", device="cpu",
                memory_mode="auto", width=32, height=48, steps=3, n_images=1, seed=5, template="room",
                max_sequence_length=32, run_dir=str(run_dir))
    base.update(kw)
    return base


def test_one_progress_event_per_step_and_png_metadata(tiny_flux_dir, lora_files, tmp_path):
    events: list[dict] = []
    ctx = JobContext("j1", events.append)
    op = resolve("generate_images")
    result = op(_params(tiny_flux_dir, tmp_path / "run", n_images=2, lora=str(lora_files["pth"])), ctx)
    progress = [e for e in events if e["type"] == "progress"]
    assert len(progress) == 2 * 3  # 2 images x 3 steps
    assert [round(e["fraction"], 4) for e in progress] == [round(i / 6, 4) for i in range(1, 7)]
    assert result["seeds"] == [5, 6]
    assert len(result["images"]) == 2
    for path, seed in zip(result["images"], result["seeds"]):
        meta = read_png_metadata(Path(path))
        assert meta["seed"] == seed
        assert meta["prompt"] == "a bedroom with a wardrobe"
        assert meta["full_prompt"].startswith("a bedroom with a wardrobe. A photorealistic render")
        assert meta["steps"] == 3 and meta["width"] == 32 and meta["height"] == 48
        assert meta["settings"]["lora"]["rank"] == 4
        assert meta["settings"]["memory_mode"] == "gpu"  # on the CPU "gpu" means: all on the one device
        from PIL import Image
        with Image.open(path) as im:
            assert im.size == (32, 48)
    assert (tmp_path / "run" / "t2i.json").is_file()


def test_cancel_stops_between_steps(tiny_flux_dir, tmp_path):
    events: list[dict] = []

    def emit(event: dict) -> None:
        events.append(event)
        if event["type"] == "progress" and len([e for e in events if e["type"] == "progress"]) == 2:
            ctx.cancel()

    ctx = JobContext("j2", emit)
    with pytest.raises(CancelledError):
        resolve("generate_images")(_params(tiny_flux_dir, tmp_path / "run", steps=6), ctx)
    assert len([e for e in events if e["type"] == "progress"]) == 2
    assert not list((tmp_path / "run").glob("*.png"))


@pytest.mark.parametrize("bad, error, match", [
    (dict(width=30), BadInputError, "multiple of 16"),
    (dict(prompt="  "), BadInputError, "prompt is empty"),
    (dict(template="no placeholder"), ConfigError, "{prompt}"),
    (dict(steps="many"), BadInputError, "steps"),
    (dict(memory_mode="turbo"), ConfigError, "memory mode"),
])
def test_bad_requests_fail_before_loading(bad, error, match, tiny_flux_dir, tmp_path):
    with pytest.raises(error, match=match):
        resolve("generate_images")(_params(tiny_flux_dir, tmp_path, **bad), JobContext("j3", lambda e: None))


def test_missing_model_folder_says_what_to_download(tmp_path):
    from imaginarium.core.errors import MissingWeightsError

    with pytest.raises(MissingWeightsError) as info:
        resolve("generate_images")(_params(tmp_path / "nothing-here", tmp_path), JobContext("j4", lambda e: None))
    assert "FLUX.1-dev" in info.value.fix
