"""The published checkpoints (original repositories' layouts) load through the converter and compute the same thing."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from imaginarium.core.config import Settings  # noqa: E402
from imaginarium.core.errors import BadInputError  # noqa: E402
from imaginarium.core.models.convert import DEPTH, DINOV2, STAMP, converted_folder  # noqa: E402

from .original_layouts import OriginalDepthAnythingV2, OriginalViT  # noqa: E402


@pytest.fixture(scope="module")
def vit_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OriginalViT]:
    torch.manual_seed(0)
    model = OriginalViT(dim=128, depth=3, grid=4).eval()
    path = tmp_path_factory.mktemp("dino") / "dinov2_vitl14.pth"
    torch.save(model.state_dict(), path)
    return path, model


@pytest.fixture(scope="module")
def depth_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, OriginalDepthAnythingV2]:
    torch.manual_seed(1)
    model = OriginalDepthAnythingV2(dim=64, depth=12, grid=4).eval()
    with torch.no_grad():  # spread the sigmoid's input so the metric output is not a flat 10 m
        model.depth_head.scratch.output_conv2[2].weight.mul_(20.0)
    path = tmp_path_factory.mktemp("depth") / "depth_anything_v2_metric_hypersim_vitl.pth"
    torch.save(model.state_dict(), path)
    return path, model


def test_dinov2_original_layout_gives_the_transformers_outputs(vit_file) -> None:
    from transformers import Dinov2Model

    path, original = vit_file
    folder = converted_folder(path, DINOV2)
    assert folder == path.parent / "dinov2_vitl14.pth.transformers" and (folder / "model.safetensors").is_file()
    hf = Dinov2Model.from_pretrained(folder, local_files_only=True).eval()
    assert hf.config.num_attention_heads == 2 and hf.config.num_hidden_layers == 3 and hf.config.image_size == 56
    x = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        want = original(x)
        got = hf(pixel_values=x).last_hidden_state
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


def test_chunked_block_names_convert_too(vit_file, tmp_path: Path) -> None:
    """Some DINOv2 exports group blocks in chunks: ``blocks.<chunk>.<i>.…``."""
    from transformers import Dinov2Model

    path, original = vit_file
    sd = {(k.replace("blocks.", "blocks.0.", 1) if k.startswith("blocks.") else k): v
          for k, v in original.state_dict().items()}
    chunked = tmp_path / "dinov2_vitl14.pth"
    torch.save({"model": sd}, chunked)  # also wrapped, as training checkpoints are
    hf = Dinov2Model.from_pretrained(converted_folder(chunked, DINOV2), local_files_only=True).eval()
    x = torch.randn(1, 3, 56, 56)
    with torch.no_grad():
        assert torch.allclose(hf(pixel_values=x).last_hidden_state, original(x), atol=1e-5)


def test_conversion_is_cached_and_redone_when_the_file_changes(vit_file, tmp_path: Path) -> None:
    path, original = vit_file
    copy = tmp_path / "dinov2_vitl14.pth"
    copy.write_bytes(path.read_bytes())
    first = converted_folder(copy, DINOV2)
    weights = first / "model.safetensors"
    stamp_before = (first / STAMP).read_text()
    os.utime(weights, ns=(1, 1))  # a re-conversion would write a new file
    assert converted_folder(copy, DINOV2) == first and weights.stat().st_mtime_ns == 1
    torch.save({k: v * 2 for k, v in original.state_dict().items()}, copy)
    assert converted_folder(copy, DINOV2) == first
    assert weights.stat().st_mtime_ns != 1 and (first / STAMP).read_text() != stamp_before


def test_unwritable_place_beside_the_file_converts_into_the_user_cache(vit_file, tmp_path: Path) -> None:
    """Where the folder beside the .pth cannot be written (here: a file is in the way), the user cache is used."""
    path, _ = vit_file
    copy = tmp_path / "dinov2_vitl14.pth"
    copy.write_bytes(path.read_bytes())
    (tmp_path / "dinov2_vitl14.pth.transformers").write_text("in the way")
    folder = converted_folder(copy, DINOV2, cache_dir=tmp_path / "cache")
    assert folder.parent == tmp_path / "cache" and (folder / "config.json").is_file()
    assert (tmp_path / "dinov2_vitl14.pth.transformers").read_text() == "in the way"


def test_depth_anything_original_layout_gives_the_transformers_outputs(depth_file) -> None:
    from transformers import DepthAnythingForDepthEstimation

    path, original = depth_file
    hf = DepthAnythingForDepthEstimation.from_pretrained(converted_folder(path, DEPTH, max_depth=20),
                                                         local_files_only=True).eval()
    assert hf.config.depth_estimation_type == "metric" and hf.config.max_depth == 20
    assert hf.config.backbone_config.out_indices == [3, 6, 9, 12]
    x = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        want = original(x)
        got = hf(pixel_values=x).predicted_depth
    assert want.std() > 0.1  # a real depth map, not a constant
    assert torch.allclose(got, want, atol=1e-4), (got - want).abs().max()


def test_the_depth_backend_loads_a_published_file_from_the_weights_folder(depth_file) -> None:
    from imaginarium.core.geometry.camera import Intrinsics
    from imaginarium.core.perception.depth_anything import DepthAnythingBackend, preprocess

    path, original = depth_file
    settings = Settings()
    settings.paths.weights_dir = str(path.parent)
    settings.depth.model = path.name
    settings.depth.input_size = 56
    backend = DepthAnythingBackend.from_settings(settings, "cpu")
    rgb = (np.random.default_rng(0).random((56, 56, 3)) * 255).astype(np.uint8)
    depth = backend.predict(rgb, Intrinsics(50.0, 50.0, 28.0, 28.0, 56, 56, "test"))
    with torch.no_grad():
        want = original(torch.from_numpy(preprocess(rgb, 56)))[0].numpy()
    assert np.allclose(depth, np.clip(want, 1e-3, 20.0), atol=1e-4)


def test_the_dinov2_embedder_loads_a_published_file(vit_file) -> None:
    from imaginarium.core.matching.dinov2 import Dinov2Embedder

    path, _ = vit_file
    emb = Dinov2Embedder.from_folder(path, device="cpu", input_size=56)
    assert emb.hidden == 128 and emb.grid == 4


def test_wrong_files_are_named_for_what_they_are(vit_file, depth_file, tmp_path: Path) -> None:
    vit, _ = vit_file
    depth, _ = depth_file
    with pytest.raises(BadInputError, match="DINOv2 backbone, not a Depth Anything"):
        renamed = tmp_path / "depth_anything_v2_metric_x.pth"
        renamed.write_bytes(vit.read_bytes())
        converted_folder(renamed, DEPTH)
    with pytest.raises(BadInputError, match="Depth Anything V2 depth model, not a DINOv2"):
        converted_folder(depth, DINOV2)
    junk = tmp_path / "dinov2_vitl14_junk.pth"
    junk.write_bytes(b"not a checkpoint at all" * 10)
    with pytest.raises(BadInputError, match="not a PyTorch checkpoint"):
        converted_folder(junk, DINOV2)
    other = tmp_path / "other.pth"
    torch.save({"encoder.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(BadInputError, match="unknown model"):
        converted_folder(other, DINOV2)
    relative = tmp_path / "depth_anything_v2_vitl.pth"
    relative.write_bytes(depth.read_bytes())
    with pytest.raises(BadInputError, match="metric"):
        converted_folder(relative, DEPTH)


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):  # noqa: D105
            return (os.system, ("echo pwned > " + str(tmp_path / "ran"),))

    path = tmp_path / "dinov2_vitl14.pth"
    torch.save({"cls_token": Evil()}, path)
    with pytest.raises(BadInputError, match="read safely"):
        converted_folder(path, DINOV2)
    assert not (tmp_path / "ran").exists()


def test_status_and_verify_of_a_published_file(vit_file, tmp_path: Path) -> None:
    from imaginarium.core.models import registry
    from imaginarium.core.models.status import INSTALLED, status, verify

    path, _ = vit_file
    settings = Settings()
    settings.paths.weights_dir = str(tmp_path)
    settings.retrieval.dinov2_model = "dinov2_vitl14.pth"
    (tmp_path / "dinov2_vitl14.pth").write_bytes(path.read_bytes())
    spec = registry.get("dinov2")
    st = status(spec, settings)
    assert st.state == INSTALLED and st.source == "published" and "converted" in st.detail
    assert verify(spec, settings)["problems"] == []
    (tmp_path / "dinov2_vitl14.pth").write_bytes(b"damaged")
    assert any("not a PyTorch checkpoint" in p for p in verify(spec, settings)["problems"])
