"""The starter-library generator: counts, classes, sizes vs the catalogue, determinism, textures."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from imaginarium.core.library.catalogue import CSV_NAME, load_catalogue
from imaginarium.core.library.textures import load_textures
from tests.conftest import ROOT, run_blender_script

REQUIRED_CLASSES = {"double bed", "single bed", "nightstand", "wardrobe", "dresser", "two-seat sofa",
                    "three-seat sofa", "armchair", "coffee table", "side table", "tv stand", "television",
                    "rectangular dining table", "round dining table", "dining chair", "desk", "office chair",
                    "bookshelf", "cabinet", "floor lamp", "table lamp", "pendant lamp", "rug", "potted plant",
                    "picture frame", "mirror", "curtain", "books", "vase", "cushion"}


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("starter")
    proc = run_blender_script(ROOT / "scripts" / "make_starter_library.py", "--out", str(out), "--seed", "0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_catalogue_counts_and_rules(starter: Path) -> None:
    cat = load_catalogue(starter)
    assert cat.problems == [] and cat.warnings == []
    assert len(cat.assets) >= 40 and len(cat.classes()) >= 20
    assert REQUIRED_CLASSES <= set(cat.classes())
    per_class: dict[str, int] = {}
    for a in cat.assets.values():
        per_class[a.class_name] = per_class.get(a.class_name, 0) + 1
        assert a.path and a.path.endswith(".blend") and a.caption
    for main in ("double bed", "nightstand", "dining chair", "armchair", "desk", "bookshelf", "rug", "floor lamp"):
        assert per_class[main] >= 2, main
    by_name = {a.name: a for a in cat.assets.values()}
    assert by_name["picture_frame_landscape"].align_to_wall_normal and by_name["mirror_tall_black"].align_to_wall_normal
    assert by_name["dining_chair_oak"].scaling_strategy == "ISOTROPIC"
    assert by_name["dining_table_round_walnut"].scaling_strategy == "RADIAL"
    assert by_name["rug_rect_grey"].size[2] == 0.0  # flat asset: one zero axis, as published
    shelf = by_name["bookshelf_tall_oak"]
    assert [s.name for s in shelf.inner_spaces] == [f"shelf_{k}" for k in range(5)]
    zs = [s.transform[2][3] for s in shelf.inner_spaces]
    assert zs == sorted(zs) and 0 < zs[0] < zs[-1] < shelf.size[2]
    for s in shelf.inner_spaces:
        assert all(0 < r < 1 for r in s.scale_ratio)
        assert s.transform[2][3] + s.scale_ratio[2] * shelf.size[2] <= shelf.size[2] + 1e-6


def test_blend_meshes_match_catalogue_and_frame(starter: Path) -> None:
    proc = run_blender_script(Path(__file__).parent / "_blend_dims.py", str(starter))
    assert proc.returncode == 0, proc.stderr[-2000:]
    measured = json.loads(proc.stdout.strip().splitlines()[-1])
    cat = load_catalogue(starter)
    assert len(measured) == len(cat.assets)
    materials = set()
    for a in cat.assets.values():
        m = measured[a.name]
        assert m["objects"] == [a.name]
        for want, got in zip(a.size, m["dims"]):
            assert abs(got - want) <= 0.02 * max(want, 1e-9) + 1e-4, (a.name, a.size, m["dims"])
        assert all(abs(c) < 1e-4 for c in m["bottom_centre"]), (a.name, m["bottom_centre"])
        assert not materials & set(m["materials"]), a.name  # no material shared between variants
        materials |= set(m["materials"])


def test_deterministic_from_seed(starter: Path, tmp_path: Path) -> None:
    again = run_blender_script(ROOT / "scripts" / "make_starter_library.py", "--out", str(tmp_path / "a"),
                               "--seed", "0", "--no-textures")
    other = run_blender_script(ROOT / "scripts" / "make_starter_library.py", "--out", str(tmp_path / "b"),
                               "--seed", "1", "--no-textures")
    assert again.returncode == 0 and other.returncode == 0
    assert (tmp_path / "a" / CSV_NAME).read_bytes() == (starter / CSV_NAME).read_bytes()
    assert (tmp_path / "b" / CSV_NAME).read_bytes() != (starter / CSV_NAME).read_bytes()


def test_background_textures(starter: Path) -> None:
    tex = load_textures(starter)
    kinds = [t.kind for t in tex]
    assert kinds.count("floor") >= 6 and kinds.count("wall") >= 6 and kinds.count("ceiling") >= 2
    for t in tex:
        assert t.path.is_file() and t.caption and not t.caption.endswith(".png")
        assert all(0.0 <= c <= 1.0 for c in t.mean_rgb)
    means = {t.id: t.mean_rgb for t in tex}
    assert means["walnut_planks"][0] < means["oak_planks"][0]  # recorded colours follow the pixels
    from PIL import Image
    import numpy as np

    for t in tex[:4]:
        px = np.asarray(Image.open(t.path).convert("RGB"), dtype=float) / 255
        assert np.allclose(px.reshape(-1, 3).mean(0), t.mean_rgb, atol=0.01), t.id
