"""The finished parts are wired into the pipeline: what each adds reaches the run folder, the notes and the layout.

One synthetic room (tests/perception/scenes.py) with its depth and detections, a window added on the
back wall, the fixture library; the VLM is the real anthropic client against a local stub server; the
detector is a colour detector (each object of the render has its own colour) that counts its calls.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.cli import main as cli_main
from imaginarium.core.config import Secrets, Settings
from imaginarium.core.perception import backends
from imaginarium.core.perception.pipeline import perceive
from imaginarium.core.perception.protocols import RawDetection
from imaginarium.core.schema import Layout, Observation
from tests.perception.scenes import OBJECT_RGB, write_scene
from tests.perception.stub_server import StubServer

WINDOW = ((-0.9, 0.1), (1.0, 1.8))  # on the back wall y = 4: x from, to; z from, to (metres)
WINDOW_RGB = (170, 210, 240)


def _project(truth: dict, point: tuple[float, float, float]) -> tuple[float, float]:
    pose, k = truth["pose"], truth["k"]
    cam = pose[:3, :3].T @ (np.asarray(point, float) - pose[:3, 3])
    return k.fx * cam[0] / cam[2] + k.cx, k.fy * cam[1] / cam[2] + k.cy


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> tuple[Path, dict]:
    """The bedroom scene plus a window painted on its back wall and detected as a box only."""
    folder = tmp_path_factory.mktemp("wiring_scene")
    truth = write_scene(folder)
    (x0, x1), (z0, z1) = WINDOW
    us, vs = zip(*[_project(truth, (x, 4.0, z)) for x in (x0, x1) for z in (z0, z1)])
    box = [float(min(us)), float(min(vs)), float(max(us)), float(max(vs))]
    ui, vi = slice(int(np.ceil(box[1])), int(box[3])), slice(int(np.ceil(box[0])), int(box[2]))
    assert (truth["surface"][ui, vi] == 5).mean() > 0.95  # the window's pixels show the back wall
    rgb = np.asarray(Image.open(folder / "image.png")).copy()
    rgb[ui, vi] = WINDOW_RGB
    Image.fromarray(rgb).save(folder / "image.png")
    dets = json.loads((folder / "detections.json").read_text())
    dets.append({"label": "window", "box": box, "score": 0.8})
    (folder / "with_window.json").write_text(json.dumps(dets))
    mm = np.nan_to_num(truth["depth"] * 1000.0).astype(np.uint16)
    Image.fromarray(mm).save(folder / "depth_mm.png")
    return folder, truth


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "DDS_API_TOKEN", "DDS_CLOUDAPI_TOKEN"):
        monkeypatch.delenv(name, raising=False)


# ---- depth report ------------------------------------------------------------------------------------------
def test_depth_report_notes_reach_the_observation_the_cli_and_a_cached_rerun(scene, tmp_path, capsys) -> None:
    folder, _ = scene
    run = tmp_path / "run"
    argv = ["perceive", str(folder / "image.png"), "--depth", str(folder / "depth_mm.png"), "--fov", "70",
            "--detections", str(folder / "detections.json"), "--out", str(run)]
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    assert "note: depth: depth_mm.png read as millimetres" in out
    obs = Observation.load(run / "observation.json")
    assert any(n.startswith("depth: depth_mm.png read as millimetres") for n in obs.notes)
    report = obs.provenance["depth_report"]
    assert report["units_assumed"] == "millimetres" and report["source"] == "depth_mm.png"
    assert np.nanmedian(np.load(run / "depth.npy")) == pytest.approx(np.nanmedian(scene[1]["depth"]), rel=0.01)
    # another field of view: the observation is recomputed from the cached depth, and still says how it was read
    again = perceive(folder / "image.png", run, depth_path=folder / "depth_mm.png", fov_deg=72,
                     detections_path=folder / "detections.json")
    assert again.provenance["stages"]["depth"] == "cached" and again.provenance["stages"]["observation"] == "computed"
    assert [n for n in again.notes if n.startswith("depth:")] == [n for n in obs.notes if n.startswith("depth:")]
    assert again.provenance["depth_report"] == report


# ---- placeholders and windows through the whole room -----------------------------------------------------
def test_unmapped_labels_become_placeholders_and_a_window_hangs_in_its_wall(scene, fixture_library, tmp_path,
                                                                           capsys) -> None:
    folder, _ = scene
    run = tmp_path / "run"
    rc = cli_main(["room", str(folder / "image.png"), "--library", str(fixture_library), "--out", str(run),
                   "--depth", str(folder / "depth_mm.png"), "--fov", "70",
                   "--detections", str(folder / "with_window.json"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "note: perceive: depth: depth_mm.png read as millimetres" in out
    layout = Layout.load(run / "layout.json")
    placed = {p.object_id: p for p in layout.placements}
    obs = Observation.load(run / "observation.json")
    # "table" is no class of the fixture library (bed, chair, bookshelf, rug): a box of the observed size
    table = placed["table_0"]
    assert table.asset_id == "placeholder:table"
    assert any("maps to no class" in n and "labelled box" in n for n in table.notes), table.notes
    observed = obs.graph.by_id()["table_0"].box.size
    assert sorted(table.box.size) == pytest.approx(sorted(observed), abs=0.05)
    assert placed["stool_0"].asset_id != "placeholder:stool"  # "stool" maps to the library's chair
    # the window: a wall object in the back wall, at its place and size, hung there by the layout
    window = placed["window_0"]
    back = next(p for p in obs.planes if p.kind == "wall" and abs(p.normal[1]) > 0.9)
    assert window.relation == "wall_hung" and window.parent == back.id
    [opening] = obs.provenance["openings"]
    assert opening["object_id"] == "window_0" and opening["wall"] == back.id
    (x0, x1), (z0, z1) = WINDOW
    assert opening["width"] == pytest.approx(x1 - x0, abs=0.12)
    assert opening["height"] == pytest.approx(z1 - z0, abs=0.12)
    assert opening["bottom"] == pytest.approx(z0, abs=0.1)
    assert window.box.size[2] == pytest.approx(z1 - z0, abs=0.15)
    assert any("mask is the detection box" in n for n in window.notes)
    cands = json.loads((run / "candidates.json").read_text())
    assert any(c["object_id"] == "window_0" and c["assets"][0]["asset_id"] == "placeholder:window"
               for c in cands["candidates"])
    # the re-solve path (Blender's re-optimise) reads the placeholders back from the layout alone
    from imaginarium.core.layout.problem import problem_from_layout
    from imaginarium.core.library.catalogue import load_catalogue

    problem = problem_from_layout(layout, load_catalogue(fixture_library))
    item = problem.by_id()["table_0"]
    assert np.asarray(item.asset.size) * np.asarray(table.scale) == pytest.approx(np.asarray(table.box.size))


# ---- labels from the library, the VLM and the cache -----------------------------------------------------------
class ColourDetector:
    """Finds each object of the render by its colour; counts its calls; may miss one label on the whole image."""

    name = "colour"
    COLOURS = {"table": OBJECT_RGB[0], "box": OBJECT_RGB[1], "cabinet": OBJECT_RGB[2], "painting": OBJECT_RGB[0]}

    def __init__(self, full_shape: tuple[int, int], names: dict[str, str], miss: str | None = None) -> None:
        self.full_shape, self.names, self.miss = full_shape, names, miss
        self.calls: list[tuple[tuple[int, int], list[str]]] = []
        self.notes: list[str] = []

    def detect(self, rgb: np.ndarray, labels: list[str], **context) -> list[RawDetection]:
        import cv2

        self.calls.append((rgb.shape[:2], list(labels)))
        out = []
        for scene_label, asked in self.names.items():
            if asked not in labels or (scene_label == self.miss and rgb.shape[:2] == self.full_shape):
                continue
            colour = np.asarray(self.COLOURS[scene_label], int)
            hit = (np.abs(rgb.astype(int) - colour).max(axis=-1) <= 8).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(hit)
            for s in stats[1:n]:
                if s[4] >= 60:
                    out.append(RawDetection(asked, 0.8, (float(s[0]), float(s[1]), float(s[0] + s[2]),
                                                         float(s[1] + s[3]))))
        return out


def _message(name: str, tool_input: dict) -> dict:
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": name, "input": tool_input}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 10}}


@pytest.fixture(scope="module")
def server():
    s = StubServer()
    yield s
    s.close()


def test_labels_come_from_the_library_and_the_vlm_and_a_cached_rerun_calls_neither(scene, fixture_library, server,
                                                                                 tmp_path, monkeypatch) -> None:
    folder, truth = scene
    detector = ColourDetector(truth["depth"].shape, {"cabinet": "bookshelf", "table": "table"})
    monkeypatch.setattr(backends, "detection_backend", lambda settings, secrets, path: detector)
    settings = Settings()
    settings.vlm.base_url, settings.vlm.model = server.url, "claude-test"
    settings.retrieval.embedder = "classical"
    server.reset()
    server.set("/v1/messages",
               (200, _message("list_objects", {"objects": ["bookcase", "table"]})),
               (200, _message("report_scene", {"objects": [{"id": "bookshelf_0", "keep": True,
                                                            "relation": "on_floor"}], "groups": [],
                                               "missing_labels": []})),
               # the paper's size step: a bookshelf 40 m wide is not believed (and the table gets no answer)
               (200, _message("report_sizes", {"objects": [{"id": "bookshelf_0", "width_m": 40.0,
                                                            "depth_m": 0.4}]})))
    secrets = Secrets(anthropic_api_key="sk-test")
    kw = dict(depth_path=folder / "depth.npy", fov_deg=70, library=fixture_library)
    first = perceive(folder / "image.png", tmp_path / "run", settings, secrets, **kw)
    # the object list, the scene answer, then the sizes of the floor objects
    assert len(server.requests) == 3 and len(detector.calls) == 1
    assert [r["json"]["tool_choice"]["name"] for r in server.requests] == ["list_objects", "report_scene",
                                                                          "report_sizes"]
    shelf = first.graph.by_id()["bookshelf_0"]
    assert any(n.startswith("size: ignored the VLM's 40.00") for n in shelf.notes), shelf.notes
    assert detector.calls[0][1] == ["bookshelf", "table"]        # the VLM's words in the library's words
    chosen = first.provenance["labels_chosen"]
    assert chosen["source"] == "vlm:claude (claude-test)" and chosen["vlm_names"] == ["bookcase", "table"]
    assert {o.label for o in first.graph.objects} == {"bookshelf", "table"}
    assert first.provenance["vlm"].startswith("claude (claude-test), 1 call")

    again = perceive(folder / "image.png", tmp_path / "run", settings, secrets, **kw)
    assert len(server.requests) == 3 and len(detector.calls) == 1  # nothing asked again
    assert again.to_dict() == first.to_dict()
    # only the observation changes (another field of view): the scene is described again, the labels are not
    server.set("/v1/messages",
               (200, _message("report_scene", {"objects": [{"id": "bookshelf_0", "keep": True,
                                                            "relation": "on_floor"}], "groups": [],
                                               "missing_labels": []})),
               (200, _message("report_sizes", {"objects": []})))
    moved = perceive(folder / "image.png", tmp_path / "run", settings, secrets, **{**kw, "fov_deg": 72})
    assert len(detector.calls) == 1 and [r["json"]["tool_choice"]["name"] for r in server.requests[3:]] == \
        ["report_scene", "report_sizes"]
    assert moved.provenance["stages"]["detections"] == "cached"
    assert moved.provenance["labels_chosen"] == chosen


def test_a_second_look_finds_what_the_detector_missed_and_the_cache_keeps_it(scene, tmp_path, monkeypatch) -> None:
    folder, truth = scene
    names = {"table": "table", "box": "box", "cabinet": "cabinet"}
    detector = ColourDetector(truth["depth"].shape, names, miss="cabinet")
    monkeypatch.setattr(backends, "detection_backend", lambda settings, secrets, path: detector)
    kw = dict(depth_path=folder / "depth.npy", fov_deg=70, labels=["table", "box", "cabinet"])
    obs = perceive(folder / "image.png", tmp_path / "run", Settings(), Secrets(), **kw)
    first_calls = len(detector.calls)
    assert first_calls >= 2 and all(shape != truth["depth"].shape for shape, _ in detector.calls[1:])  # crops
    cabinet = obs.graph.by_id()["cabinet_0"]
    assert any(n.startswith("found on a second look (an uncovered region") for n in cabinet.notes)
    saved = json.loads((tmp_path / "run" / "detections.json").read_text())["detections"]
    assert [d["label"] for d in saved].count("cabinet") == 1
    info = json.loads((tmp_path / "run" / "detections_info.json").read_text())
    assert any("second look" in note for note in info["second_look"].values())
    moved = perceive(folder / "image.png", tmp_path / "run", Settings(), Secrets(), **{**kw, "fov_deg": 72})
    assert len(detector.calls) == first_calls and moved.provenance["stages"]["detections"] == "cached"
    assert any(n.startswith("found on a second look") for n in moved.graph.by_id()["cabinet_0"].notes)


# ---- composites ---------------------------------------------------------------------------------------------
def test_an_object_a_composite_asset_contains_is_removed_and_the_run_stays_consistent(scene, fixture_library,
                                                                                       tmp_path, monkeypatch) -> None:
    """The table is detected as a bed whose asset is a composite holding a chair; the box on it as a chair."""
    import csv
    import shutil

    from imaginarium.core.perception import composite
    from imaginarium.core.pipeline import image_to_room
    from imaginarium.core.runfolder import RunFolder

    folder, _ = scene
    library = tmp_path / "library"
    shutil.copytree(fixture_library, library)
    path = library / "imaginarium_asset_info.csv"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["portfolio_assets"] = "1" if row["name_en"] == "double_bed_oak" else "0"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setattr(composite, "part_names", lambda asset: ["dining chair"] if "bed" in asset.name else [])
    dets = json.loads((folder / "detections.json").read_text())
    relabel = {"table": "bed", "box": "chair"}
    dets = [{**d, "label": relabel[d["label"]]} for d in dets if d["label"] in relabel]
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    settings = Settings()
    settings.retrieval.embedder = "classical"
    run = tmp_path / "run"
    kw = dict(depth=folder / "depth.npy", fov_deg=70, detections=tmp_path / "dets.json")
    layout = image_to_room(folder / "image.png", run, library, settings, Secrets(), **kw)
    obs = Observation.load(run / "observation.json")
    chair = obs.graph.by_id()["chair_0"]
    assert chair.removed and chair.removed.startswith("absorbed by bed_0")
    assert any("absorbs chair_0" in n for n in obs.graph.by_id()["bed_0"].notes)
    assert [p.object_id for p in layout.placements] == ["bed_0"]
    folder_state = RunFolder(run)
    assert all(folder_state.problems(stage) == [] for stage in folder_state.records), folder_state.records
    stamps = {n: (run / n).stat().st_mtime_ns for n in ("observation.json", "candidates.json", "layout.json")}
    assert image_to_room(folder / "image.png", run, library, settings, Secrets(), **kw).to_json() == layout.to_json()
    assert {n: (run / n).stat().st_mtime_ns for n in stamps} == stamps  # every stage reused, nothing matched again


# ---- the text model setting ------------------------------------------------------------------------------------
def test_retrieval_text_model_reaches_the_vocabulary_of_every_stage(fixture_library, tmp_path) -> None:
    """retrieval.text_model (a folder under weights_dir) is the vocabulary's similarity; a missing one is a note."""
    from transformers import BertConfig, BertModel, BertTokenizer

    from imaginarium.core.library.catalogue import load_catalogue
    from imaginarium.core.matching.store_access import library_vocabulary

    cat = load_catalogue(fixture_library)
    settings = Settings()
    plain, notes = library_vocabulary(cat, settings)
    assert notes == [] and plain.similarity.name == "char-trigram+word-overlap"
    folder = tmp_path / "weights" / "tiny-text"
    folder.mkdir(parents=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "bed", "chair", "rug", "bookshelf", "couch"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizer(vocab=str(folder / "vocab.txt")).save_pretrained(folder)
    BertModel(BertConfig(vocab_size=len(words), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    settings.paths.weights_dir, settings.retrieval.text_model = str(tmp_path / "weights"), "tiny-text"
    vocab, notes = library_vocabulary(cat, settings)
    assert notes == [] and vocab.similarity.name == "text-encoder:tiny-text"
    assert vocab.lookup("bed").class_name == plain.lookup("bed").class_name  # the rules still come first
    settings.retrieval.text_model = "not-installed"
    vocab, notes = library_vocabulary(cat, settings)
    assert vocab.similarity.name == "char-trigram+word-overlap" and "not-installed" in notes[0]


def test_the_worker_op_passes_the_library_to_perception(scene, fixture_library, tmp_path) -> None:
    from imaginarium.core.errors import BadInputError
    from imaginarium.core.worker.context import JobContext
    from imaginarium.core.worker.registry import resolve

    folder, _ = scene
    op = resolve("perceive")
    params = {"image": str(folder / "image.png"), "out": str(tmp_path / "run"), "depth": str(folder / "depth.npy"),
              "detections": str(folder / "detections.json"), "fov": 70, "library_dir": str(fixture_library)}
    result = op(params, JobContext("j", lambda e: None))
    chosen = Observation.load(tmp_path / "run" / "observation.json").provenance["labels_chosen"]
    assert result["objects"] == 6 and chosen["source"].startswith("library:")
    assert set(chosen["labels"]) == {"bookshelf", "dining chair", "double bed", "rug"}  # what the VLM may name
    with pytest.raises(BadInputError, match="library_dir"):
        op({**params, "library_dir": 3}, JobContext("k", lambda e: None))
