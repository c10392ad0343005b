"""Both embedders on real crops: shapes, normalisation, background, and the choice between them."""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.config import Settings
from imaginarium.core.errors import ConfigError, MissingWeightsError
from imaginarium.core.matching.classical import ClassicalEmbedder
from imaginarium.core.matching.crops import make_crop
from imaginarium.core.matching.embedders import Embedder, load_embedder


def _scene(colour: tuple[int, int, int], shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.full((160, 200, 3), 200, np.uint8)
    mask = np.zeros((160, 200), bool)
    mask[40:120, 50 + shift:130 + shift] = True
    rgb[mask] = colour
    rgb[60:70, 60 + shift:120 + shift] = (20, 20, 20)      # a stripe: some texture
    return rgb, mask


def test_crop_is_square_masked_and_centred() -> None:
    rgb, mask = _scene((200, 30, 30))
    crop = make_crop(rgb, mask, 64)
    assert crop.rgb.shape == (64, 64, 3) and crop.mask.shape == (64, 64)
    assert crop.mask[32, 32] > 0.99 and crop.mask[0, 0] == 0.0
    assert tuple(crop.rgb[0, 0]) == (124, 116, 104)          # background replaced by neutral grey
    assert abs(crop.mask.mean() - 1 / 1.16 ** 2) < 0.05      # the object fills the square up to the margin


def test_classical_features_separate_colours_and_zero_background() -> None:
    emb = ClassicalEmbedder()
    assert isinstance(emb, Embedder)
    crops = [make_crop(*_scene((200, 30, 30)), 224), make_crop(*_scene((200, 30, 30), shift=30), 224),
             make_crop(*_scene((30, 60, 200)), 224)]
    f = emb.embed(crops)
    assert f["global"].shape == (3,) + emb.dims()["global"] and f["patch"].shape == (3,) + emb.dims()["patch"]
    assert np.allclose(np.linalg.norm(f["global"], axis=1), 1.0, atol=1e-5)
    sims = f["global"] @ f["global"].T
    assert sims[0, 1] > 0.98 and sims[0, 2] < sims[0, 1] - 0.1          # same object moved vs another colour
    zero_rows = np.abs(f["patch"][0]).sum(1) == 0
    assert 0 < zero_rows.sum() < emb.grid ** 2                          # background patches are zero, object not


def test_auto_falls_back_to_classical_with_a_notice(tmp_path) -> None:
    s = Settings()
    s.paths.weights_dir = str(tmp_path)
    seen: list[str] = []
    emb, notes = load_embedder(s, notify=seen.append)
    assert emb.name == "classical" and notes and "classical" in notes[0] and seen == notes


def test_dinov2_requested_without_weights_is_a_typed_error(tmp_path) -> None:
    s = Settings()
    s.paths.weights_dir = str(tmp_path)
    s.retrieval.embedder = "dinov2"
    with pytest.raises(MissingWeightsError, match="dinov2-large"):
        load_embedder(s)
    s.retrieval.embedder = "clip"
    with pytest.raises(ConfigError):
        load_embedder(s)


def test_tiny_random_dinov2_folder_loads_and_embeds(tmp_path) -> None:
    from transformers import Dinov2Config, Dinov2Model

    cfg = Dinov2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       patch_size=14, image_size=224)
    Dinov2Model(cfg).save_pretrained(tmp_path / "dinov2-tiny")
    s = Settings()
    s.paths.weights_dir = str(tmp_path)
    s.retrieval.dinov2_model = "dinov2-tiny"
    s.device.device = "cpu"
    emb, notes = load_embedder(s)
    assert notes == [] and emb.name == "dinov2_32d" and emb.grid == 16
    crops = [make_crop(*_scene((200, 30, 30)), 224), make_crop(*_scene((30, 60, 200)), 224)]
    f = emb.embed(crops)
    assert f["global"].shape == (2, 32) and f["patch"].shape == (2, 256, 32)
    assert np.allclose(np.linalg.norm(f["global"], axis=1), 1.0, atol=1e-5)
    fg = np.abs(f["patch"][0]).sum(1) > 0
    assert 0 < fg.sum() < 256
    assert not np.allclose(f["global"][0], f["global"][1])
