"""The catalogue reader on a CSV written in the exact published format, quirks included."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from imaginarium.core.errors import LibraryError
from imaginarium.core.library.catalogue import CSV_NAME, load_catalogue
from imaginarium.core.library.csvformat import COLUMNS, parse_bbx, parse_flag, RowError
from imaginarium.core.library.vocabulary import Vocabulary
from imaginarium.core.library import write_catalogue

ROOT = Path(__file__).resolve().parents[2]
HEADER = ",".join(COLUMNS)
# Published quirks: BOM before "id", CRLF line ends, a caption with line breaks inside quotes,
# Chinese columns, flags 1 / 0 / 0.0 / empty, a flat rug (one zero axis), an abort row.
ROWS = [
    '1,oak_bed,"1.62,2.1,0.95","一张橡木双人床","A double bed in oak.\nLinen bedding,\r\nwith two pillows.",双人床,double bed,床,bed,'
    'pic1.png,ALIGNED_ANISOTROPIC,0.0,,internal,Team,,CC BY-NC-SA 4.0,,1',
    '2,wool_rug,"2,1.4,0",羊毛地毯,"A flat wool rug, grey.",地毯,rug,地毯,rug,pic2.png,SORTED_ANISOTROPIC,,,'
    'internal,Team,,CC BY-NC-SA 4.0,,0.0',
    '3,tall_shelf,"0.8,0.3,1.8",书架,A bookshelf.,书架,bookshelf,书架,bookshelf,,ALIGNED_ANISOTROPIC,1,,internal,,,,,1',
    '4,broken_lamp,"0.3,0.3,1.6",落地灯,A lamp.,落地灯,floor lamp,灯,floor lamp,,ISOTROPIC,0,,fab,,,,abort,0',
    '5,bad_size,"0.5,0,0",纸,Paper.,纸,paper,纸,paper,,ISOTROPIC,0,,internal,,,,,0',
    '6,odd_scaling,"0.5,0.5,0.5",凳子,A stool.,凳子,stool,椅子,chair,,WOBBLY,0,,internal,,,,,0',
    '7,no_file,"0.5,0.5,0.5",凳子,A stool.,凳子,stool,椅子,chair,,ISOTROPIC,0,,internal,,,,,0',
    '1,oak_bed_again,"1,1,1",床,Dup.,床,bed,床,bed,,ISOTROPIC,0,,internal,,,,,0',
    '8,flat_poster,"0.6,0,0.9",海报,"A poster",海报,poster,画,picture frame,,SORTED_ANISOTROPIC,,,,,,,,1',
]


def write_fixture(folder: Path, with_files: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = "\ufeff" + HEADER + "\r\n" + "\r\n".join(ROWS) + "\r\n"
    (folder / CSV_NAME).write_bytes(text.encode("utf-8"))
    if with_files:
        assets = folder / "imaginarium_assets"
        assets.mkdir(exist_ok=True)
        (assets / "oak_bed.fbx").write_bytes(b"fbx")
        (assets / "oak_bed.blend").write_bytes(b"blend")  # .blend is preferred over .fbx
        (assets / "wool_rug.glb").write_bytes(b"glb")
        (assets / "tall_shelf").mkdir()
        (assets / "tall_shelf" / "tall_shelf.obj").write_bytes(b"obj")
        (assets / "broken_lamp.fbx").write_bytes(b"fbx")
        (assets / "flat_poster.fbx").write_bytes(b"fbx")
        (assets / "odd_scaling.fbx").write_bytes(b"fbx")
        inner = folder / "imaginarium_assets_internal_placement_space"
        inner.mkdir(exist_ok=True)
        (inner / "tall_shelf.json").write_text(json.dumps([
            {"name": "shelf_0", "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0.05], [0, 0, 0, 1]],
             "scale_ratio": [0.9, 0.9, 0.3]},
            {"name": "shelf_1", "transform_matrix": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0.65], [0, 0, 0, 1]],
             "scale_ratio": [0.9, 0.9, 0.3]}]))
    return folder / CSV_NAME


def test_published_quirks_load_with_right_counts(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    cat = load_catalogue(tmp_path)
    assert sorted(cat.assets) == ["1", "2", "3", "8"]
    assert [p.id for p in cat.excluded] == ["4"]
    reasons = {p.id: p.reason for p in cat.problems}
    assert set(reasons) == {"5", "6", "7", "1"}
    assert "at most one axis" in reasons["5"]
    assert "WOBBLY" in reasons["6"]
    assert "no asset file" in reasons["7"]
    assert "duplicate" in reasons["1"]
    bed = cat.assets["1"]
    assert bed.caption == "A double bed in oak.\nLinen bedding,\r\nwith two pillows."
    assert bed.size == (1.62, 2.1, 0.95) and bed.align_to_wall_normal is True
    assert bed.path.endswith("oak_bed.blend")
    assert cat.rows["1"]["caption_cn"] == "一张橡木双人床"
    rug = cat.assets["2"]
    assert rug.size == (2.0, 1.4, 0.0) and rug.align_to_wall_normal is False
    assert rug.scaling_strategy == "SORTED_ANISOTROPIC" and rug.path.endswith(".glb")
    shelf = cat.assets["3"]
    assert [s.name for s in shelf.inner_spaces] == ["shelf_0", "shelf_1"]
    assert shelf.path.endswith("tall_shelf.obj")
    summary = cat.summary()
    assert summary["assets"] == 4 and summary["excluded"] == 1 and summary["with_inner_spaces"] == 1
    assert summary["flat_assets"] == 2
    assert "bookshelf" in summary["retrieval_classes"] and "double bed" in summary["classes"]
    # rows start lines: the multi-line caption pushes row 2 down by two physical lines
    line_of = {p.id: p.row for p in cat.problems}
    assert line_of["5"] == 8


def test_catalogue_only_mode_without_asset_folder(tmp_path: Path) -> None:
    csv_path = write_fixture(tmp_path, with_files=False)
    cat = load_catalogue(csv_path)
    assert not cat.assets_folder_found
    assert sorted(cat.assets) == ["1", "2", "3", "7", "8"]  # no file check without the folder
    assert cat.assets["3"].inner_spaces == []
    assert any("inner_placement = 1" in w.reason for w in cat.warnings)


def test_round_trip_writes_the_published_format(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    cat = load_catalogue(tmp_path)
    out = write_catalogue(tmp_path / "copy" / CSV_NAME, list(cat.rows.values()))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,name_en,bbx,")
    again = load_catalogue(out)
    assert sorted(again.rows) == sorted(cat.rows)
    assert again.rows["1"]["caption_en"] == cat.rows["1"]["caption_en"]
    with pytest.raises(LibraryError, match="unknown column"):
        write_catalogue(tmp_path / "x.csv", [{"id": "1", "nmae_en": "typo"}])


def test_flags_and_bbx_parsing() -> None:
    assert [parse_flag("f", v) for v in ("1", "1.0", "0", "0.0", "", None, " TRUE ")] == \
        [True, True, False, False, False, False, True]
    with pytest.raises(RowError):
        parse_flag("f", "maybe")
    assert parse_bbx("[0.5, 0.4, 0]") == (0.5, 0.4, 0.0)
    for bad in ("1,2", "a,b,c", "1,-1,1", "0,0,1", ""):
        with pytest.raises(RowError):
            parse_bbx(bad)


def test_missing_library_and_columns_raise_with_fix(tmp_path: Path) -> None:
    with pytest.raises(LibraryError) as info:
        load_catalogue(tmp_path / "nowhere")
    assert "make library" in info.value.fix
    (tmp_path / CSV_NAME).write_text("id,name\n1,x\n", encoding="utf-8")
    with pytest.raises(LibraryError, match="lacks the column"):
        load_catalogue(tmp_path)


def test_starter_and_named_vocabularies_map_labels() -> None:
    starter = Vocabulary.starter()
    assert starter("Couch") == ["sofa"]
    assert starter("bedside_table") == ["nightstand"]
    assert starter("pillows") == ["cushion"]
    assert starter("wooden dining chair") == ["chair"]
    assert "desk" in starter("table")
    assert Vocabulary.from_names(["desk", "sofa"])("table") == ["desk"]
    assert starter("spaceship") == []
    assert Vocabulary.from_names(["bookshelf"])("bookshelf") == ["bookshelf"]


def test_library_retrieval_classes(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    assert Vocabulary.from_catalogue(load_catalogue(tmp_path)).retrieval_classes() == [
        "bed", "bookshelf", "picture frame", "rug"]


def test_cli_info_prints_json(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "core", "library", "info", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["assets"] == 4 and data["excluded"] == 1
    assert {"classes", "retrieval_classes", "with_inner_spaces", "problems"} <= set(data)
    assert len(data["problems"]) == 4
    bad = subprocess.run([sys.executable, "-m", "core", "library", "info", str(tmp_path / "none")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "fix:" in bad.stderr
