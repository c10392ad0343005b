"""The paper's scene features that were missing: placeholders, composites, doors and windows, a second look,
the VLM's verdicts and look-alike groups, and a detector vocabulary from the library.

Geometry is checked against numbers worked out by hand from a pinhole camera (not by the code under test);
the VLM is the real anthropic client against a local stub server; embeddings are the real classical embedder.
"""
from __future__ import annotations

import base64
import io
import json
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from imaginarium.core.config import Secrets, VlmSettings
from imaginarium.core.errors import BadInputError
from imaginarium.core.geometry.camera import Intrinsics
from imaginarium.core.library.catalogue import load_catalogue, write_catalogue
from imaginarium.core.library.vocabulary import Vocabulary
from imaginarium.core.matching.classical import ClassicalEmbedder
from imaginarium.core.matching.placeholder import is_placeholder, placeholder_candidate, placeholder_records
from imaginarium.core.perception.claude_vlm import ClaudeVlm
from imaginarium.core.perception.composite import apply_composites
from imaginarium.core.perception.openings import opening_kind, opening_object, opening_rect, openings_summary
from imaginarium.core.perception.protocols import RawDetection
from imaginarium.core.perception.scene_graph import Item, build_scene_graph
from imaginarium.core.perception.second_look import second_look, uncovered_regions
from imaginarium.core.perception.verdicts import (KEEP_FALSE, RESTORED_NOTE, apply_verdicts, crop_features,
                                                  gate_groups, look_alike_threshold, removed_objects, restore_object,
                                                  size_prior_from_records)
from imaginarium.core.perception.vocabulary_prompt import ClaudeObjectLister, detection_labels
from imaginarium.core.runfolder import RunFolder
from imaginarium.core.schema import (Box3D, Camera, Candidate, CandidateSet, Detection, Observation, Plane,
                                     RankedAsset, SceneGraph, SceneObject)

from .stub_server import StubServer

FLOOR = Plane("floor", "floor", (0, 0, 1), 0.0)
CEILING = Plane("ceiling", "ceiling", (0, 0, -1), -2.8)
WALLS = [Plane("wall_0", "wall", (0, -1, 0), -2.0), Plane("wall_1", "wall", (1, 0, 0), -2.0),
         Plane("wall_2", "wall", (-1, 0, 0), -2.0)]
PLANES = [FLOOR, CEILING, *WALLS]
# Camera at (0, -2, 1.4) looking along +Y: OpenCV x → world X, y (down) → world −Z, z → world +Y.
CAM_POSE = np.array([[1, 0, 0, 0], [0, 0, 1, -2.0], [0, -1, 0, 1.4], [0, 0, 0, 1]], float)
K = Intrinsics(300.0, 300.0, 160.0, 120.0, 320, 240)


@pytest.fixture(scope="module")
def server():
    s = StubServer()
    yield s
    s.close()


def _message(name: str, tool_input: dict) -> dict:
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": name, "input": tool_input}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}


def _settings(server) -> VlmSettings:
    server.reset()
    return VlmSettings(base_url=server.url, timeout_s=5.0, model="claude-test")


def _catalogue(tmp_path, rows):
    full = []
    for i, (name, cls, ret, bbx, portfolio, caption) in enumerate(rows):
        full.append({"id": str(i + 1), "name_en": name, "bbx": bbx, "class_en": cls, "retrieval_class_en": ret,
                     "scaling_strategy": "ALIGNED_ANISOTROPIC", "portfolio_assets": portfolio, "caption_en": caption})
    write_catalogue(tmp_path / "imaginarium_asset_info.csv", full)
    return load_catalogue(tmp_path / "imaginarium_asset_info.csv")


# ---- a label with no match at all -------------------------------------------------------------
def test_a_label_that_maps_to_nothing_becomes_a_labelled_box_with_a_note() -> None:
    vocab = Vocabulary.starter()
    obj = SceneObject("xylophone_0", "xylophone", box=Box3D((1.0, 0.5, 0.4), (0.8, 0.3, 0.8), 0.3))
    assert vocab.lookup("xylophone") is None
    cand, note = placeholder_candidate(obj, "no library class matches 'xylophone'")
    assert is_placeholder(cand.assets[0].asset_id) and cand.assets[0].asset_id == "placeholder:xylophone"
    assert "xylophone_0" in note and "labelled box 0.80×0.30×0.80" in note
    back = CandidateSet.from_json(CandidateSet([cand], notes=[note]).to_json())   # survives candidates.json
    record = placeholder_records(back)["placeholder:xylophone"]
    assert record.path is None and tuple(record.size) == (0.8, 0.3, 0.8) and record.class_name == "xylophone"
    assert "synonyms.json" in record.caption
    no_box, note2 = placeholder_candidate(SceneObject("thing_0", "thing"), "no match")
    assert no_box.assets[0].parts["size"] == [0.5, 0.5, 0.5] and "0.5 m cube" in note2


# ---- composites ------------------------------------------------------------------------------
def test_a_composite_desk_absorbs_the_monitor_on_it_and_nothing_else(tmp_path) -> None:
    cat = _catalogue(tmp_path, [
        ("desk_set", "Desk", "Table", "1.4,0.7,1.2", "1", "A black desk with a computer monitor and a keyboard"),
        ("desk_bare", "Desk", "Table", "1.4,0.7,0.75", "0", "A black desk"),
        ("monitor", "Computer_monitor", "Computer_monitor", "0.6,0.2,0.4", "0", "A monitor"),
        ("chair", "Office_chair", "Stool_chair_or_sofa", "0.6,0.6,1.0", "0", "An office chair"),
    ])
    vocab = Vocabulary.from_catalogue(cat)

    def run(desk_asset: str, restored: bool = False) -> Observation:
        objs = [SceneObject("desk_0", "desk", box=Box3D((0, 0, 0.375), (1.4, 0.7, 0.75))),
                SceneObject("monitor_0", "monitor", box=Box3D((0.1, 0.1, 0.95), (0.6, 0.2, 0.4)), support="desk_0",
                            notes=[RESTORED_NOTE] if restored else []),
                SceneObject("office_chair_0", "office chair", box=Box3D((0, -0.85, 0.5), (0.6, 0.6, 1.0))),
                SceneObject("monitor_1", "monitor", box=Box3D((1.5, 1.5, 1.0), (0.6, 0.2, 0.4)))]
        obs = Observation("image.png", Camera(300, 300, 160, 120, 320, 240), PLANES, SceneGraph(objs))
        cands = CandidateSet([Candidate("desk_0", [RankedAsset(desk_asset, 0.9)]),
                              Candidate("monitor_0", [RankedAsset("3", 0.8)]), Candidate("monitor_1", [RankedAsset("3", 0.8)]),
                              Candidate("office_chair_0", [RankedAsset("4", 0.7)])])
        apply_composites(obs, cands, cat, vocab)
        return obs

    obs = run("1")
    by = obs.graph.by_id()
    assert by["monitor_0"].removed and "desk_0" in by["monitor_0"].removed
    assert any("absorbs monitor_0" in n for n in by["desk_0"].notes) and by["monitor_0"].notes
    assert by["office_chair_0"].removed is None      # beside the desk, not inside it
    assert by["monitor_1"].removed is None           # a monitor elsewhere
    assert [r["object_id"] for r in removed_objects(obs)] == ["monitor_0"] and obs.notes
    assert all(o.removed is None for o in run("2").graph.objects)          # the plain desk contains nothing
    assert all(o.removed is None for o in run("1", restored=True).graph.objects)  # the artist's restore sticks


# ---- windows and doors -------------------------------------------------------------------------
def _rect_mask(x0: float, x1: float, z0: float, z1: float, y_wall: float = 2.0) -> np.ndarray:
    """Pixels of the rectangle x∈[x0,x1], z∈[z0,z1] on the wall y = y_wall (fronto-parallel: a rectangle in the image)."""
    depth = y_wall + 2.0
    u0, u1 = K.cx + K.fx * x0 / depth, K.cx + K.fx * x1 / depth
    v0, v1 = K.cy + K.fy * (1.4 - z1) / depth, K.cy + K.fy * (1.4 - z0) / depth
    mask = np.zeros((K.height, K.width), bool)
    mask[int(round(v0)):int(round(v1)), int(round(u0)):int(round(u1))] = True
    return mask


def test_a_window_becomes_a_wall_object_at_its_observed_place_and_size() -> None:
    det = Detection("window", 0.9, (122, 67, 213, 158))
    obj = opening_object("window_0", "window", det, _rect_mask(-0.5, 0.7, 0.9, 2.1), K, CAM_POSE, PLANES)
    assert obj.support == "wall_0" and obj.against_walls == ["wall_0"] and obj.hanging_on_wall and not obj.removed
    (cx, cy, cz), (w, t, h) = obj.box.center, obj.box.size
    assert cx == pytest.approx(0.1, abs=0.03) and cy == pytest.approx(2.0, abs=1e-6)   # in the wall plane
    assert w == pytest.approx(1.2, abs=0.05) and h == pytest.approx(1.2, abs=0.05) and t == pytest.approx(0.1)
    assert cz - h / 2 == pytest.approx(0.9, abs=0.03)
    assert math.cos(obj.box.yaw) == pytest.approx(1.0, abs=1e-6)    # its width runs along the wall
    assert "wall_0" in obj.notes[0]
    rect = opening_rect(obj.box, WALLS[0])
    assert all(p[1] == pytest.approx(2.0) for p in rect)                    # the hole lies on the wall
    assert rect[0][2] == pytest.approx(0.9, abs=0.03) and rect[2][2] == pytest.approx(2.1, abs=0.03)
    assert openings_summary([obj])[0]["wall"] == "wall_0"


def test_a_door_stands_on_the_floor_even_when_its_bottom_is_hidden() -> None:
    mask = _rect_mask(-1.6, -0.8, 0.6, 2.0)   # furniture hides the lowest 60 cm
    obj = opening_object("door_0", "door", None, mask, K, CAM_POSE, PLANES)
    bottom = obj.box.center[2] - obj.box.size[2] / 2
    assert obj.support == "wall_0" and bottom == pytest.approx(0.0, abs=1e-6)
    assert obj.box.size[2] == pytest.approx(2.0, abs=0.05) and obj.box.size[0] == pytest.approx(0.8, abs=0.05)
    assert any("set on the floor" in n for n in obj.notes)


def test_an_opening_with_no_wall_behind_is_kept_removed_with_the_reason() -> None:
    obj = opening_object("window_1", "window", None, _rect_mask(-0.5, 0.7, 0.9, 2.1), K, CAM_POSE, [FLOOR, CEILING])
    assert obj.removed and "no wall" in obj.removed and obj.box is None


def test_opening_kind_reads_the_head_word() -> None:
    assert [opening_kind(x) for x in ("Window", "french doors", "window blind", "door mat", "doorway")] == \
        ["window", "door", None, None, "door"]


# ---- the VLM's verdicts, and restoring -----------------------------------------------------------
def test_keep_false_from_the_vlm_removes_the_object_and_restoring_puts_it_back(server, tmp_path) -> None:
    vlm = ClaudeVlm(_settings(server), Secrets(anthropic_api_key="sk-test"), max_retries=0)
    server.set("/v1/messages", (200, _message("report_scene", {"objects": [
        {"id": "table_0", "keep": True, "relation": "on_floor", "plausible_size": False},
        {"id": "vase_0", "keep": False, "relation": "on_object", "support": "table_0"}]})))
    items = [Item("table_0", "dining table", Detection("dining table", 0.9, (40, 100, 200, 200)),
                  Box3D((0, 1, 0.2), (0.5, 0.4, 0.4))),
             Item("vase_0", "vase", Detection("vase", 0.8, (100, 70, 120, 100)), Box3D((0, 1, 0.5), (0.2, 0.2, 0.2)))]
    answer = vlm.describe(np.zeros((240, 320, 3), np.uint8), [{"id": i.id, "label": i.label,
                                                              "box": list(i.detection.box), "size": None} for i in items],
                          ["dining table", "vase"])
    graph = build_scene_graph(items, PLANES, answer)
    records = _catalogue(tmp_path / "lib", [("t1", "Dining_table", "Table", "1.8,0.9,0.75", "0", ""),
                                            ("t2", "Dining_table", "Table", "1.4,0.8,0.73", "0", ""),
                                            ("t3", "Dining_table", "Table", "1.6,1.0,0.77", "0", "")])
    prior = size_prior_from_records(records.assets.values(), Vocabulary.from_catalogue(records))
    notes = apply_verdicts(graph, answer, prior)
    by = graph.by_id()
    assert by["vase_0"].removed == KEEP_FALSE and any("vase_0" in n for n in notes)
    table = by["table_0"]
    assert table.removed is None and tuple(table.box.size) == pytest.approx((1.6, 0.9, 0.75))  # the median table
    assert table.box.center[2] - table.box.size[2] / 2 == pytest.approx(0.0)                   # still on the floor
    assert any(n.startswith("size refined") for n in table.notes)
    run = RunFolder(tmp_path / "run")          # committed the way perceive and match commit
    with run.begin("perceive") as txn:
        Observation("image.png", Camera(300, 300, 160, 120, 320, 240), PLANES, graph).save(txn.file("observation.json"))
        txn.file("masks/vase_0.png").write_bytes(b"png")
        txn.put("observation", "k-obs", ["observation.json", "masks/vase_0.png"])
        txn.commit()
    with run.begin("match") as txn:
        CandidateSet([Candidate("vase_0")]).save(txn.file("candidates.json"))
        txn.put("match", "k-match", ["candidates.json"], inputs=["observation.json", "masks/vase_0.png"])
        txn.commit()
    run = run.path
    restored = restore_object(run, "vase_0")
    after = RunFolder(run)                      # the edit is committed: nothing looks damaged or stale
    assert after.problems("observation") == [] == after.problems("match") and after.cached("observation", "k-obs")[0]
    assert (run / "masks" / "vase_0.png").read_bytes() == b"png"
    again = Observation.load(run / "observation.json")
    assert again.graph.by_id()["vase_0"].removed is None and removed_objects(again) == [] == removed_objects(restored)
    apply_verdicts(again.graph, answer)                    # a second pass never undoes the artist's restore
    assert again.graph.by_id()["vase_0"].removed is None
    with pytest.raises(BadInputError, match="not a removed object"):
        restore_object(run, "vase_0")


def _armchair(img: np.ndarray, x: int, y: int, s: int, body, cushion, style: int, rng) -> np.ndarray:
    """Draw an armchair's front (style 0: striped club chair; 1: tufted wingback on legs); returns its mask."""
    m = np.zeros(img.shape[:2], np.uint8)
    if style == 0:
        cv2.rectangle(m, (x, y + s // 4), (x + s, y + s), 1, -1)
        cv2.rectangle(m, (x + s // 7, y), (x + s - s // 7, y + s // 2), 1, -1)
    else:
        pts = np.array([[x + s // 5, y], [x + s - s // 5, y], [x + s, y + s // 3], [x + s - s // 20, y + 4 * s // 5],
                        [x + s // 20, y + 4 * s // 5], [x, y + s // 3]], np.int32)
        cv2.fillPoly(m, [pts], 1)
        for lx in (x + s // 8, x + s - s // 6):
            cv2.rectangle(m, (lx, y + 4 * s // 5), (lx + s // 20, y + s), 1, -1)
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    shade = (0.75 + 0.25 * (1 - (yy - y) / s))[..., None]
    col = np.array(body, float) * shade
    if style == 0:
        col = np.where((((xx - x) // 8) % 2 == 0)[..., None], col, np.array(cushion, float) * shade)
    else:
        col = np.where(((((xx - x) % 12) < 2) & (((yy - y) % 12) < 2))[..., None], col * 0.5, col)
    img[m > 0] = np.clip(col + rng.normal(0, 6, col.shape), 0, 255).astype(np.uint8)[m > 0]
    return m > 0


@pytest.mark.parametrize("alike", [False, True])
def test_two_armchairs_of_one_size_are_grouped_only_when_they_look_alike(alike: bool) -> None:
    rng = np.random.default_rng(3)
    img = np.full((240, 360, 3), (200, 195, 185), np.uint8)
    a = _armchair(img, 30, 60, 110, (170, 40, 35), (200, 180, 150), 0, rng)
    b = _armchair(img, 210, 70, 100, *(((165, 42, 38), (195, 175, 150), 0) if alike else
                                       ((40, 60, 150), (40, 60, 150), 1)), rng)
    items = [Item("armchair_0", "armchair", None, Box3D((-1, 1, 0.42), (0.85, 0.85, 0.85))),
             Item("armchair_1", "armchair", None, Box3D((1, 1, 0.42), (0.88, 0.84, 0.86)))]
    graph = build_scene_graph(items, PLANES)
    assert graph.by_id()["armchair_0"].group == graph.by_id()["armchair_1"].group is not None  # same label and size
    emb = ClassicalEmbedder()
    feats = crop_features(img, {"armchair_0": a, "armchair_1": b}, emb)
    notes = gate_groups(graph, feats, look_alike_threshold(emb.name))
    groups = {o.group for o in graph.objects}
    if alike:
        assert len(groups) == 1 and None not in groups and notes == []
    else:
        assert groups == {None} and notes and all(any("looks different" in n for n in o.notes) for o in graph.objects)


# ---- a second look -------------------------------------------------------------------------------
class ColourBlobDetector:
    """A detector that finds saturated green blobs and calls them by the first label it is asked for."""

    name = "blob"

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, int], list[str]]] = []

    def detect(self, rgb: np.ndarray, labels: list[str], **context) -> list[RawDetection]:
        self.calls.append((rgb.shape[:2], list(labels)))
        green = (rgb[..., 1] > 200) & (rgb[..., 0] < 60) & (rgb[..., 2] < 60)
        n, _, stats, _ = cv2.connectedComponentsWithStats(green.astype(np.uint8))
        return [RawDetection(labels[0], 0.7, (float(s[0]), float(s[1]), float(s[0] + s[2]), float(s[1] + s[3])))
                for s in stats[1:n] if s[4] > 50]


def test_a_second_look_finds_what_the_first_pass_missed() -> None:
    rgb = np.full((240, 320, 3), 180, np.uint8)
    rgb[150:210, 230:280] = (20, 230, 30)                      # a plant nobody detected
    rgb[100:200, 20:120] = (120, 60, 30)                       # a chair that was detected
    plane_dist = np.zeros((240, 320), np.float32)              # everything on the room's planes …
    plane_dist[150:210, 230:280] = 0.4                          # … but the plant
    plane_dist[100:200, 20:120] = 0.5                           # … and the chair
    plane_dist[0:10, :] = np.inf                                # unknown depth is never a region
    chair = RawDetection("chair", 0.9, (20.0, 100.0, 120.0, 200.0))
    assert uncovered_regions(plane_dist, np.zeros((240, 320), bool))[0] == (20, 100, 120, 200)
    det = ColourBlobDetector()
    hits = second_look(rgb, det, ["potted plant", "chair"], [chair], plane_distance=plane_dist)
    assert len(hits) == 1 and hits[0].detection.box == (230.0, 150.0, 280.0, 210.0)   # full-image pixels
    assert "second look" in hits[0].note and det.calls[0][0] != (240, 320)           # it looked in a crop
    det2 = ColourBlobDetector()
    hits = second_look(rgb, det2, ["chair"], [chair], missing_labels=["Plant", "plant "])
    assert det2.calls == [((240, 320), ["plant"])] and hits[0].detection.label == "plant"
    assert "VLM" in hits[0].note
    again = second_look(rgb, ColourBlobDetector(), ["plant"], [chair, hits[0].detection], missing_labels=["plant"])
    assert again == []                                          # already there: no duplicate


# ---- the detector's vocabulary -------------------------------------------------------------------
def test_the_vlm_names_objects_in_the_catalogues_words_and_the_detector_asks_for_those(server, tmp_path) -> None:
    cat = _catalogue(tmp_path, [("s", "Multi_person_sofa", "Stool_chair_or_sofa", "2,0.9,0.8", "0", ""),
                                ("s2", "Multi_person_sofa", "Stool_chair_or_sofa", "2.2,0.9,0.8", "0", ""),
                                ("n", "Bedside_table", "Storage_locker_rack", "0.5,0.4,0.5", "0", ""),
                                ("r", "Rifle", "Weapon", "1,0.1,0.2", "0", "")])
    vocab = Vocabulary.from_catalogue(cat)
    settings = _settings(server)
    server.set("/v1/messages", (200, _message("list_objects", {"objects": [
        "Multi_person_sofa", "couch", "bedside table", "spaceship"]})))
    rgb = np.zeros((60, 80, 3), np.uint8)
    rgb[:, :40] = (255, 0, 0)
    chosen = detection_labels(rgb, vocab, ClaudeObjectLister(settings, Secrets(anthropic_api_key="sk-test")))
    assert chosen.labels == ["multi person sofa", "bedside table", "spaceship"]     # couch = the sofa: asked once
    assert chosen.source.startswith("vlm:") and any("spaceship" in n for n in chosen.notes)
    body = server.requests[0]["json"]
    assert body["tool_choice"] == {"type": "tool", "name": "list_objects"}
    assert "multi person sofa" in body["messages"][0]["content"][1]["text"]
    image = next(b for b in body["messages"][0]["content"] if b["type"] == "image")
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(image["source"]["data"]))).convert("RGB"))
    assert tuple(sent[5, 5]) == (255, 0, 0)                                          # RGB, not BGR
    no_key = detection_labels(rgb, vocab)             # most assets first; no weapons in a room's prompt
    assert no_key.labels == ["multi person sofa", "bedside table"] and no_key.source.startswith("library:")
    assert no_key.provenance()["labels"] == no_key.labels


# ---- the panel: the removed object is listed, and Restore places it (real bpy, installed extension) --
def test_panel_restores_a_removed_object_and_a_window_opens_its_wall(built_zip, fixture_library,
                                                                                 tmp_path) -> None:
    from tests.conftest import ROOT, run_blender_script

    env = {"BLENDER_USER_RESOURCES": str(tmp_path / "user"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = run_blender_script(ROOT / "tests" / "perception" / "restore_panel_check.py", str(built_zip), str(ROOT),
                              str(fixture_library), str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["built"] == ["bed", "chair"] and r["verdict_notes"]              # keep = false: not placed
    assert "Removed objects (1)" in r["panel_before"] and "chair (chair_2)" in r["panel_before"]
    assert "imaginarium.restore_object" in r["panel_operators"]
    assert any(KEEP_FALSE in t for t in r["panel_before"])
    assert r["restore"] == ["FINISHED"] and r["built_after"] == ["bed", "chair", "chair_2"]
    assert r["removed_after"] is None and any(RESTORED_NOTE in n for n in r["notes_after"]) and r["layout_has_it"]
    assert r["bed_kept_edit"] and abs(r["restored_on_floor_z"]) < 0.02
    assert not any("Removed objects" in t for t in r["panel_after"])
    win = r["window"]                                          # the window detection opened its wall
    assert win["wall"] == "wall_0" and win["through_centre"] and win["solid_beside"] and win["solid_below"]
    assert win["bottom"] == pytest.approx(0.9, abs=0.03)
    # no run folder recorded: nothing is read from Blender's current folder (which holds a run's observation)
    assert r["no_run_folder"] == {"run_dir": None, "removed": [], "details_label": ""}


# ---- retrieval filters by the vocabulary ----------------------------------------------------------
def test_retrieval_candidates_and_class_term_come_from_the_vocabulary() -> None:
    from imaginarium.core.config import Settings
    from imaginarium.core.matching.index import TemplateIndex
    from imaginarium.core.matching.retrieval import NoCandidatesError, Query, Retriever
    from imaginarium.core.schema import AssetRecord

    assets = {"sofa_a": AssetRecord("sofa_a", "s", "Multi_person_sofa", "Stool_chair_or_sofa", (2.0, 0.9, 0.8)),
              "chair_a": AssetRecord("chair_a", "c", "Backrest_chair", "Stool_chair_or_sofa", (0.5, 0.5, 0.9)),
              "bed_a": AssetRecord("bed_a", "b", "Double_bed", "Bed", (1.6, 2.1, 1.0))}
    rng = np.random.default_rng(0)
    ids = list(assets)
    index = TemplateIndex(ids, np.repeat(np.arange(3), 2), rng.normal(size=(6, 8)).astype(np.float32),
                          rng.normal(size=(6, 4, 8)).astype(np.float32), np.tile(np.eye(4), (6, 1, 1)), 2)
    retriever = Retriever(index, assets, None, Settings().retrieval)      # None: the assets' own vocabulary
    q = Query("o1", "couch", rng.normal(size=8).astype(np.float32), rng.normal(size=(4, 8)).astype(np.float32))
    ranked = retriever.rank([q])["o1"]
    assert {r.asset_id for r in ranked} == {"sofa_a", "chair_a"}             # the couch's retrieval class only
    assert {r.asset_id: r.parts["class"] for r in ranked} == {"sofa_a": 1.0, "chair_a": 0.0}
    with pytest.raises(NoCandidatesError, match="maps to no class"):
        retriever.rank([Query("o2", "spaceship", q.glob, q.patch)])
