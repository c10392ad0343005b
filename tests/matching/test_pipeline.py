"""The match stage end to end on the library's fixture library (real store, real renders, real bpy scenes).

Scenes are rendered with Cycles from the fixture library's own .blend assets at known yaws;
the library's templates are its Workbench renders (42 views), so photo and templates differ
in renderer and lighting as they would in use.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imaginarium.core.config import Settings
from imaginarium.core.errors import BadInputError, CancelledError, LibraryError
from imaginarium.core.library.catalogue import load_catalogue
from imaginarium.testkit.fixture_library import make_fixture_library
from imaginarium.core.library.store import FeatureStore
from imaginarium.core.matching.pipeline import match
from imaginarium.core.matching.retrieval import NoCandidatesError
from imaginarium.core.schema import CandidateSet, Observation
from imaginarium.core.worker.context import JobContext
from imaginarium.core.worker.registry import resolve

from . import fixtures as fx

ROOT = Path(__file__).resolve().parents[2]
LAYOUT = {"dining_chair_oak": [(-1.2, 2.3), (-0.3, 2.3)], "double_bed_oak": [(1.3, 4.0)],
          "bookshelf_low_white": [(-1.5, 4.6)], "rug_rect_grey": [(0.9, 2.0)]}
LABELS = {"chair": "chair", "bed": "bed", "bookshelf": "bookshelf", "rug": "rug"}


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return make_fixture_library(tmp_path_factory.mktemp("lib") / "library", views=42, resolution=96)


@pytest.fixture(scope="module")
def coarse_library(library, tmp_path_factory) -> Path:
    """The fixture library with one coarse retrieval class for all its assets (as a published catalogue's
    "Stool_chair_or_sofa"): every label's candidates then span every class, so ranking the object's own
    class first is something retrieval can get wrong (with one class per label it could not)."""
    import csv
    import shutil

    dest = tmp_path_factory.mktemp("coarse") / "library"
    shutil.copytree(library, dest)
    path = dest / "imaginarium_asset_info.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["retrieval_class_en"], row["retrieval_class_cn"] = "indoor furniture", "室内家具"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return dest


@pytest.fixture(scope="module")
def scenes(library, tmp_path_factory):
    """Two rendered scenes (chairs as a group, bed, bookshelf, rug) with their truth."""
    cat = load_catalogue(library)
    by_name = {a.name: a for a in cat.assets.values()}
    root = tmp_path_factory.mktemp("pipeline_scenes")
    rng = np.random.default_rng(11)
    placed_all, jobs, runs = [], [], []
    for s in range(2):
        placed = []
        for name, slots in LAYOUT.items():
            rec = by_name[name]
            for i, (x, y) in enumerate(slots):
                yaw = math.radians(float(rng.uniform(-40, 40)))
                group = f"chairs{s}" if rec.retrieval_class == "chair" else None
                placed.append(fx.Placed(f"{rec.retrieval_class}_{s}_{i}", rec.id, LABELS[rec.retrieval_class],
                                        (x, y, 0.0), yaw, group))
        run = root / f"run{s}"
        jobs.append(fx.scene_job(run, placed, blends={a.id: a.path for a in cat.assets.values()}))
        placed_all.append(placed)
        runs.append(run)
    fx.run_bpy(jobs, root)
    sizes = {a.id: tuple(a.size) for a in cat.assets.values()}
    for run, placed in zip(runs, placed_all):
        fx.write_observation(run, placed, np.random.default_rng(3), sizes=sizes)
    return runs, placed_all, cat


@pytest.fixture(autouse=True)
def _no_api_key(monkeypatch) -> None:
    """Texture choice must not reach for a real API from a developer's environment."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def _classical() -> Settings:
    s = Settings()
    s.retrieval.embedder = "classical"
    return s


def test_match_writes_candidates_that_meet_the_targets(coarse_library, scenes) -> None:
    library = coarse_library
    runs, placed, cat = scenes
    sets = [match(run, library, _classical()) for run in runs]
    for run, cs in zip(runs, sets):
        assert CandidateSet.load(run / "candidates.json").to_dict() == cs.to_dict()
        assert all(len(c.assets) == 4 for c in cs.candidates)  # every label offers all four classes
    classes = {a.id: a.class_name for a in cat.assets.values()}
    ev = fx.evaluate(sets, placed, classes, true_class=classes)
    assert ev["objects"] >= 8
    assert ev["class_top1"] >= 0.9, ev
    assert ev["asset_top1"] >= 0.8, ev
    assert ev["yaw_median_deg"] <= 15.0, ev
    assert ev["groups"] == 2 and ev["groups_share_one_asset"], ev
    cs = sets[0]
    assert any("classical" in n for n in cs.notes)
    assert set(cs.textures) == {"floor", "wall", "ceiling"}
    store = FeatureStore.open(library / "derived")
    assert {"classical_global", "classical_patch"} <= set(store.kinds())
    assert not store.missing_features("classical_global")


def test_second_run_reuses_the_embeddings(library, scenes) -> None:
    runs, _, _ = scenes
    match(runs[0], library, _classical())
    cs = match(runs[0], library, _classical())
    assert not any(n.startswith("embedded") for n in cs.notes)


def test_tiny_random_dinov2_through_the_store(library, scenes, tmp_path) -> None:
    from transformers import Dinov2Config, Dinov2Model

    cfg = Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                       patch_size=14, image_size=224)
    Dinov2Model(cfg).save_pretrained(tmp_path / "dinov2-tiny")
    s = Settings()
    s.paths.weights_dir, s.retrieval.dinov2_model, s.device.device = str(tmp_path), "dinov2-tiny", "cpu"
    runs, placed, cat = scenes
    cs = match(runs[1], library, s)
    assert not any("classical" in n for n in cs.notes) and "embedder: dinov2_32d" in cs.notes
    assert {"dinov2_32d_global", "dinov2_32d_patch"} <= set(FeatureStore.open(library / "derived").kinds())
    classes = {a.id: a.retrieval_class for a in cat.assets.values()}
    ev = fx.evaluate([cs], placed[1:], classes, true_class=classes)
    assert ev["class_top1"] == 1.0 and ev["groups_share_one_asset"]
    assert all(c.poses for c in cs.candidates)


def test_patches_on_demand_when_too_large_to_store(library, scenes) -> None:
    runs, placed, cat = scenes
    s = _classical()
    s.retrieval.patch_store_max_gb = 0.0
    s.retrieval.embedder = "classical"
    cs = match(runs[0], library, s)
    assert any("on demand" in n for n in cs.notes)
    classes = {a.id: a.retrieval_class for a in cat.assets.values()}
    assert fx.evaluate([cs], placed[:1], classes, true_class=classes)["class_top1"] == 1.0


def test_missing_store_is_a_library_error(tmp_path, scenes) -> None:
    runs, _, _ = scenes
    bare = make_fixture_library(tmp_path / "bare", build=False)
    with pytest.raises(LibraryError) as err:
        match(runs[0], bare, _classical())
    assert "derived" in err.value.message and "build_library" in err.value.fix
    with pytest.raises(LibraryError, match="does not exist"):
        match(runs[0], tmp_path / "nowhere", _classical())
    with pytest.raises(BadInputError, match="observation.json"):
        match(tmp_path, bare, _classical())


def _with_label(run: Path, dest: Path, object_id: str, label: str) -> Path:
    import shutil

    shutil.copytree(run, dest)
    from imaginarium.core.schema import Box3D, SceneObject

    obs = Observation.load(dest / "observation.json")
    for o in obs.graph.objects:
        if o.id == object_id:
            o.label = label
    # An object perception could not see in 2D (no detection) but placed in 3D.
    obs.graph.objects.append(SceneObject("ghost_0", "chair", None, Box3D((2.0, 3.0, 0.4), (0.5, 0.5, 0.8), 0.3)))
    obs.save(dest / "observation.json")
    return dest


def test_unknown_label_is_noted_or_a_typed_error(library, scenes, tmp_path) -> None:
    runs, placed, _ = scenes
    target = next(p.object_id for p in placed[0] if p.group is None)
    run = _with_label(runs[0], tmp_path / "run", target, "spaceship")
    cs = match(run, library, _classical())
    by_id = {c.object_id: c for c in cs.candidates}
    # A label the library cannot place becomes a labelled box of the observed size, with the reason.
    [box] = by_id[target].assets
    assert box.asset_id == "placeholder:spaceship" and box.parts["placeholder"] == 1.0
    obj = Observation.load(run / "observation.json").graph.by_id()[target]
    assert box.parts["size"] == pytest.approx(list(obj.box.size))
    assert [p.source for p in by_id[target].poses] == ["box"] * 4
    assert any(n.startswith(f"{target} (spaceship)") and "maps to no class" in n and n == box.parts["note"]
               for n in cs.notes)
    assert all(c.assets and not c.assets[0].asset_id.startswith("placeholder:")
               for c in cs.candidates if c.object_id not in (target, "ghost_0"))
    ghost = by_id["ghost_0"]
    assert [a.asset_id for a in ghost.assets] == ["placeholder:chair"]
    assert "no mask to compare its look" in ghost.assets[0].parts["note"]
    assert [p.source for p in ghost.poses] == ["box"] * 4
    assert sum(p.confidence for p in ghost.poses) == pytest.approx(1.0)
    assert any("ghost_0: no detection" in n for n in cs.notes)
    strict = _classical()
    strict.retrieval.strict_labels = True
    with pytest.raises(NoCandidatesError, match="spaceship"):
        match(run, library, strict)


def test_cli_and_worker_op(library, scenes, tmp_path) -> None:
    runs, _, _ = scenes
    env_cfg = tmp_path / "cfg.toml"
    env_cfg.write_text('[retrieval]\nembedder = "classical"\n')
    proc = subprocess.run([sys.executable, "-m", "core", "match", str(runs[1]), "--library", str(library),
                           "--config", str(env_cfg), "--top-k", "2"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert all(v is not None for v in out["best"].values())
    assert all(len(c.assets) <= 2 for c in CandidateSet.load(runs[1] / "candidates.json").candidates)
    bad = subprocess.run([sys.executable, "-m", "core", "match", str(runs[1]), "--library", str(tmp_path / "none")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "error:" in bad.stderr and "fix:" in bad.stderr

    events: list[dict] = []
    ctx = JobContext("j1", events.append)
    result = resolve("match")({"run_dir": str(runs[1]), "library_dir": str(library),
                               "settings": {"retrieval": {"embedder": "classical"}}}, ctx)
    assert result["candidates_path"].endswith("candidates.json") and result["candidates"]
    fractions = [e["fraction"] for e in events if e["type"] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    cancelled = JobContext("j2", events.append)
    cancelled.cancel()
    with pytest.raises(CancelledError):
        resolve("match")({"run_dir": str(runs[1]), "library_dir": str(library)}, cancelled)
    with pytest.raises(BadInputError):
        resolve("match")({}, JobContext("j3", events.append))


def test_textures_by_the_vlm_when_a_key_is_set(library, scenes) -> None:
    from imaginarium.core.config import Secrets
    from imaginarium.core.library.textures import load_textures
    from tests.perception.stub_server import StubServer

    from .test_texture_vlm import message

    textures = load_textures(library)
    want = {k: [t.id for t in textures if t.kind == k][-1] for k in ("floor", "wall", "ceiling")}
    server = StubServer()
    try:
        server.set("/v1/messages", (200, message(want)))
        s = _classical()
        s.vlm.base_url, s.vlm.model = server.url, "claude-test"
        runs, _, _ = scenes
        cs = match(runs[0], library, s, secrets=Secrets(anthropic_api_key="sk-test"))
        assert cs.textures == want
        assert len(server.requests) == 1
        captions = {t.caption for t in textures}
        assert any(c in server.requests[0]["json"]["messages"][0]["content"][1]["text"] for c in captions)
        # A failing VLM falls back to colour statistics, and says so.
        server.set("/v1/messages", (500, {"type": "error", "error": {"type": "api_error", "message": "down"}}))
        cs = match(runs[0], library, s, secrets=Secrets(anthropic_api_key="sk-test"))
        assert set(cs.textures) == {"floor", "wall", "ceiling"}
        assert any("VLM choice failed" in n for n in cs.notes)
    finally:
        server.close()
