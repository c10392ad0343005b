"""Label → class through a catalogue's own vocabulary: the published CSV, the starter library, any names.

Expected classes below are written by hand (what a person would accept), never produced by the
mapper. Coverage figures on longer lists are in scripts/bench_vocabulary.py.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imaginarium.core.library.catalogue import load_catalogue, write_catalogue
from imaginarium.core.library.text_match import NgramSimilarity, load_text_encoder, singular, words
from imaginarium.core.library.vocabulary import Vocabulary
from imaginarium.core.perception.prompts import DEFAULT_LABELS

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = next((p for p in (Path("/work/shared/reference/imaginarium_asset_info.csv"),
                              ROOT / "asset_data" / "imaginarium_asset_info.csv") if p.is_file()), None)
needs_published = pytest.mark.skipif(PUBLISHED is None, reason="the published Imaginarium CSV is not on this machine")

SOFA, STORE, TABLE, LIGHT = "Stool_chair_or_sofa", "Storage_locker_rack", "Table", "Lighting_equipment"
# Every default detection label → the published retrieval classes a person would accept.
DEFAULT_OK = {
    "bed": {"Bed"}, "sofa": {SOFA}, "armchair": {SOFA}, "chair": {SOFA}, "office chair": {SOFA}, "stool": {SOFA},
    "table": {TABLE}, "dining table": {TABLE}, "coffee table": {TABLE}, "desk": {TABLE}, "nightstand": {STORE},
    "cabinet": {STORE, "Kitchen_equipment"}, "wardrobe": {STORE}, "bookshelf": {STORE}, "shelf": {STORE},
    "tv stand": {STORE}, "tv": {"Television_set"}, "dresser": {STORE, "Vanity_table"}, "lamp": {LIGHT},
    "floor lamp": {LIGHT}, "ceiling lamp": {LIGHT}, "chandelier": {LIGHT}, "plant": {"Plant"},
    "vase": {"Art_ornament"}, "painting": {"Picture_frame"}, "mirror": {"Mirror"}, "clock": {"Wall_decoration"},
    "curtain": {"Curtain"}, "rug": {"Carpet"}, "carpet": {"Carpet"}, "pillow": {"Bedding"}, "book": {"Book"},
    "bench": {SOFA}, "refrigerator": {"Refrigerator"}, "sink": {"Washbasin"}, "toilet": {"Toilet"},
    "bathtub": {"Bathtub"}, "washing machine": {"Washing_machine"},
}


@pytest.fixture(scope="module")
def published() -> Vocabulary:
    if PUBLISHED is None:
        pytest.skip("the published Imaginarium CSV is not on this machine")
    return Vocabulary.from_csv(PUBLISHED)


@needs_published
def test_every_default_detection_label_maps_to_a_sensible_published_class(published: Vocabulary) -> None:
    assert set(DEFAULT_LABELS) <= set(DEFAULT_OK), "a new default label needs an expectation here"
    wrong = {lab: (m.retrieval_class if m else None) for lab in DEFAULT_LABELS
             if (m := published.lookup(lab)) is None or m.retrieval_class not in DEFAULT_OK[lab]}
    assert wrong == {}


@needs_published
def test_issue_examples_and_their_classes(published: Vocabulary) -> None:
    expect = {"couch": ("Multi_person_sofa", SOFA), "night stand": ("Bedside_table", STORE),
              "wastebasket": (None, "Trash_bin"), "area rug": ("Carpet", "Carpet"), "sconce": (None, LIGHT),
              "bookcase": (None, STORE), "tv": (None, "Television_set"), "sofa": ("Multi_person_sofa", SOFA)}
    for label, (cls, ret) in expect.items():
        m = published.lookup(label)
        assert m is not None and m.retrieval_class == ret, (label, m)
        assert cls is None or m.class_name == cls, (label, m)
        assert 0.5 < m.score <= 1.0


@needs_published
def test_a_dresser_with_its_mirror_is_a_piece_of_furniture_not_a_flat_mirror(published: Vocabulary) -> None:
    # SUN RGB-D's "dresser_mirror" box runs from the floor to the mirror's top: one vanity, not a wall mirror
    for label in ("dresser mirror", "dresser_mirror", "mirrored dresser"):
        m = published.lookup(label)
        assert m is not None and m.class_name == "Vanity_table", (label, m)
    assert published.lookup("mirror").class_name == "Mirror"


@needs_published
def test_forms_of_one_name_meet(published: Vocabulary) -> None:
    for label in ("Multi_person_sofa", "multi-person sofas", "MULTI PERSON SOFA", "多人沙发"):
        m = published.lookup(label)
        assert m is not None and (m.class_name, m.score) == ("Multi_person_sofa", 1.0), label
    assert published.lookup("Bedside_tables").class_name == "Bedside_table"
    assert published.lookup("wooden dining chair").retrieval_class == SOFA      # leading words dropped
    assert published.lookup("wooden dining chair").score < published.lookup("dining chair").score
    assert published.lookup("wardrob").class_name == "Wardrobe"                  # a typo: text similarity
    assert published.lookup("wardrob").via.startswith("similar:")
    for nonsense in ("spaceship", "xqzv", "quantum flux"):
        assert published.lookup(nonsense) is None, nonsense


@needs_published
def test_every_class_of_the_catalogue_maps_to_itself(published: Vocabulary) -> None:
    own = published.classes()
    assert len(own) == 497 and len(published.retrieval_classes()) == 240
    assert [c for c in own if published.lookup(c).class_name != c] == []


@needs_published
def test_cli_prints_the_exact_json_form() -> None:
    proc = subprocess.run([sys.executable, "-m", "core", "library", "classes", str(PUBLISHED),
                           "--labels", "sofa,night stand,tv,spaceship"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert list(out) == ["labels"] and list(out["labels"]) == ["sofa", "night stand", "tv", "spaceship"]
    assert out["labels"]["sofa"]["class"] == "Multi_person_sofa"
    assert out["labels"]["sofa"]["retrieval_class"] == SOFA
    assert set(out["labels"]["tv"]) == {"class", "retrieval_class", "score"}
    assert out["labels"]["spaceship"] is None
    bad = subprocess.run([sys.executable, "-m", "core", "library", "classes", str(PUBLISHED), "--labels", " , "],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "fix:" in bad.stderr


def test_starter_vocabulary_data_agrees_with_the_starter_library_specs() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from _library_specs import ASSETS
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    data = json.loads((ROOT / "core/library/data/starter_vocabulary.json").read_text(encoding="utf-8"))
    have = {(r[0], r[1], r[2], r[3]): r[4] for r in data["rows"]}
    want: dict[tuple, int] = {}
    for a in ASSETS:
        k = (a["class_en"], a["retrieval_en"], a["class_cn"], a["retrieval_cn"])
        want[k] = want.get(k, 0) + 1
    assert have == want


def test_the_starter_library_is_just_another_catalogue() -> None:
    starter = Vocabulary.starter()
    assert starter.lookup("couch").retrieval_class == "sofa"
    assert starter.lookup("night stand").class_name == "nightstand"
    assert starter.lookup("pillows").class_name == "cushion"
    assert starter.lookup("tv").retrieval_class == "television"
    assert "desk" in starter("table") and starter("table")[0] == "dining table"
    assert starter.lookup("spaceship") is None
    limited = Vocabulary.from_names(["desk", "sofa"])
    assert limited("table") == ["desk"] and limited("couch") == ["sofa"] and limited("bed") == []


def test_a_catalogue_of_ones_own_is_read_with_its_chinese_names_and_composite_flags(tmp_path: Path) -> None:
    rows = [{"id": "1", "name_en": "a", "bbx": "2,0.9,0.8", "class_en": "Chesterfield_sofa", "class_cn": "切斯特菲尔德沙发",
             "retrieval_class_en": "Seating", "retrieval_class_cn": "座椅", "scaling_strategy": "ISOTROPIC",
             "portfolio_assets": "1.0"},
            {"id": "2", "name_en": "b", "bbx": "0.5,0.5,0.9", "class_en": "Ladder_back_chair", "class_cn": "梯背椅",
             "retrieval_class_en": "Seating", "retrieval_class_cn": "座椅", "scaling_strategy": "ISOTROPIC",
             "portfolio_assets": "0"},
            {"id": "3", "name_en": "c", "bbx": "0.5,0.5,0.5", "class_en": "Pouf", "retrieval_class_en": "Seating",
             "scaling_strategy": "ISOTROPIC", "portfolio_assets": "maybe"}]
    write_catalogue(tmp_path / "imaginarium_asset_info.csv", rows)
    cat = load_catalogue(tmp_path / "imaginarium_asset_info.csv")
    assert cat.is_composite("1") and not cat.is_composite("2") and not cat.is_composite("3")
    assert cat.summary()["composite_assets"] == 1
    assert any("portfolio_assets" in w.reason for w in cat.warnings)  # a bad flag is said, not fatal
    vocab = Vocabulary.from_catalogue(cat)
    assert vocab.lookup("couch").class_name == "Chesterfield_sofa"       # synonym → "sofa" → same head word
    assert vocab.lookup("chair").class_name == "Ladder_back_chair"
    assert vocab.lookup("梯背椅").class_name == "Ladder_back_chair"
    assert vocab.lookup("座椅").retrieval_class == "Seating" and not vocab.lookup("座椅").specific


def test_prompt_labels_are_indoor_classes_most_common_first_within_the_limit() -> None:
    rows = ([("Multi_person_sofa", "Seat")] * 5 + [("Rifle", "Weapon")] * 9 + [("Floor_lamp", "Light")] * 3
            + [("Discarded_tire", "Vehicle_component")] * 7 + [("Vase", "Ornament")] * 4)
    vocab = Vocabulary(rows)
    assert vocab.prompt_labels() == ["multi person sofa", "vase", "floor lamp"]
    assert vocab.prompt_labels(max_tokens=8) == ["multi person sofa", "vase"]


def test_singular_forms() -> None:
    pairs = {"shelves": "shelf", "boxes": "box", "glasses": "glass", "benches": "bench", "toys": "toy",
             "cushions": "cushion", "bus": "bus", "cactus": "cactus", "knives": "knife", "dishes": "dish"}
    assert {w: singular(w) for w in pairs} == pairs
    assert words("Wall_mounted_LCD_TVs") == ("wall", "mounted", "lcd", "tv")


def test_ngram_similarity_prefers_the_same_spelling() -> None:
    s = NgramSimilarity().scores("night stand", ["nightstand", "tv stand", "bed"])
    assert s[0] > s[1] > s[2]


def test_a_text_encoder_folder_is_used_when_installed(tmp_path: Path) -> None:
    """The real transformers path: a tiny random BERT saved to disk, loaded offline, used for similarity."""
    from transformers import BertConfig, BertModel, BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "sofa", "couch", "lamp", "chair", "bed", "table"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(vocab=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(tmp_path)
    enc = load_text_encoder(tmp_path)
    assert enc is not None and enc.name.startswith("text-encoder:")
    scores = enc.scores("lamp", ["lamp", "sofa", "bed"])
    assert scores[0] == pytest.approx(1.0, abs=1e-4) and all(0.0 <= s <= 1.0 for s in scores)
    vocab_ = Vocabulary([("Floor_lamp", "Lighting"), ("Sofa", "Seating")], similarity=enc)
    assert vocab_.similarity is enc and vocab_.lookup("sofa").class_name == "Sofa"   # rules still come first
    assert load_text_encoder(tmp_path / "missing") is None and load_text_encoder(None) is None
    assert np.isfinite(scores).all()
