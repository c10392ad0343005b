"""Depth Anything V2 and Grounding DINO: real transformers classes, tiny random weights, our pre/post-processing."""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.config import DetectionSettings, Settings
from imaginarium.core.errors import ConfigError, MissingWeightsError
from imaginarium.core.geometry.camera import intrinsics_from_fov
from imaginarium.core.perception.depth_anything import DepthAnythingBackend, model_input_size, preprocess
from imaginarium.core.perception.grounding_dino import GroundingDinoLocal, nms
from imaginarium.core.perception.pipeline import perceive

from .scenes import write_scene
from .tiny_models import tiny_depth_anything, tiny_grounding_dino

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    tiny_depth_anything(root / "depth-anything-v2-metric-indoor-large")
    tiny_grounding_dino(root / "grounding-dino-base")
    return root


def test_input_size_is_multiple_of_14_and_keeps_aspect():
    for w, h in ((640, 480), (1024, 1024), (300, 800), (1920, 1080)):
        mw, mh = model_input_size(w, h, 518)
        assert mw % 14 == 0 and mh % 14 == 0
        assert min(mw, mh) == pytest.approx(518, abs=7)
        assert mw / mh == pytest.approx(w / h, rel=0.03)
    x = preprocess(np.full((120, 160, 3), 124, np.uint8), 70)
    assert x.shape == (1, 3, 70, 98) and abs(float(x[0, 0].mean())) < 0.05  # ImageNet-normalised mid-grey


def test_depth_anything_predicts_metres_at_image_size(weights):
    rgb = np.random.default_rng(0).integers(0, 255, (120, 160, 3)).astype(np.uint8)
    k = intrinsics_from_fov(160, 120, 60)
    seen = []
    backend = DepthAnythingBackend(weights / "depth-anything-v2-metric-indoor-large", max_depth=20, input_size=56)
    model = backend._load()
    model.register_forward_hook(lambda m, args, kwargs, out: seen.append(kwargs["pixel_values"].shape),
                                with_kwargs=True)
    depth = backend.predict(rgb, k)
    assert depth.shape == (120, 160) and depth.dtype == np.float32
    assert seen[0][2] % 14 == 0 and seen[0][3] % 14 == 0 and seen[0][3] > seen[0][2]
    assert np.all((depth > 0) & (depth <= 20))
    half = DepthAnythingBackend(weights / "depth-anything-v2-metric-indoor-large", max_depth=10, input_size=56)
    assert np.allclose(half.predict(rgb, k), depth / 2, rtol=1e-4)  # metric head: sigmoid × max_depth


def test_depth_anything_errors_name_the_fix(tmp_path, weights):
    settings = Settings()
    settings.paths.weights_dir = str(tmp_path)
    with pytest.raises(MissingWeightsError, match="not in") as exc:
        DepthAnythingBackend.from_settings(settings, "cpu")
    assert "Depth-Anything-V2-Metric-Indoor-Large-hf" in exc.value.fix
    with pytest.raises(ConfigError, match="whole number"):
        DepthAnythingBackend(weights / "depth-anything-v2-metric-indoor-large", max_depth=7.5).predict(
            np.zeros((40, 40, 3), np.uint8), intrinsics_from_fov(40, 40, 60))
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingWeightsError, match="Cannot read"):
        DepthAnythingBackend(tmp_path / "empty").predict(np.zeros((40, 40, 3), np.uint8),
                                                         intrinsics_from_fov(40, 40, 60))


def test_grounding_dino_labels_from_token_spans_and_chunks(weights):
    det = GroundingDinoLocal(weights / "grounding-dino-base", DetectionSettings(box_threshold=0.0, text_threshold=0.0))
    model, processor = det._load()
    chunks = det._chunks(["chair", "dining table", "sofa", "tv", "rug"], processor.tokenizer, 12)
    assert len(chunks) >= 2  # max_text_len 12 forces a split
    for text, spans in chunks:
        ids = processor.tokenizer(text).input_ids
        for label, a, b in spans:
            assert processor.tokenizer.decode(ids[a:b]) == label  # spans point at the label's own tokens
    rgb = np.random.default_rng(1).integers(0, 255, (120, 160, 3)).astype(np.uint8)
    out = det.detect(rgb, ["chair", "dining table", "sofa", "tv", "rug"])
    assert out and all(d.label in {"chair", "dining table", "sofa", "tv", "rug"} for d in out)
    for d in out:
        x0, y0, x1, y1 = d.box
        assert 0 <= x0 < x1 <= 160 and 0 <= y0 < y1 <= 120 and 0 <= d.score <= 1 and d.mask is None
    strict = GroundingDinoLocal(weights / "grounding-dino-base", DetectionSettings(box_threshold=1.01))
    assert strict.detect(rgb, ["chair"]) == []


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], float)
    assert nms(boxes, np.array([0.5, 0.9, 0.3])) == [1, 2]


def test_pipeline_with_local_models_end_to_end(weights, tmp_path):
    """No depth or detections given: the tiny models run, masks come from depth-aware segmentation."""
    folder = tmp_path / "scene"
    write_scene(folder, width=160, height=120)
    settings = Settings()
    settings.paths.weights_dir = str(weights)
    settings.depth.input_size = 56
    settings.detection.box_threshold = 0.0
    settings.detection.text_threshold = 0.0
    obs = perceive(folder / "image.png", tmp_path / "run", settings, labels=["chair", "table", "sofa"])
    assert obs.provenance["detection"] == "grounding-dino-local"
    assert obs.provenance["depth"].startswith("depth-anything")
    assert np.load(tmp_path / "run" / "depth.npy").shape == (120, 160)
    assert all(o.detection.mask["png"] == f"masks/{o.id}.png" for o in obs.graph.objects)
    assert set(obs.provenance["masks"]) <= {"depth-segmentation", "box-centre", "whole-box"}
