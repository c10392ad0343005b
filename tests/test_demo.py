"""The demo path end to end on a 3-object room from the fixture library (small, few samples)."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_demo_on_a_three_object_room(tmp_path) -> None:
    from core.library.fixtures import make_fixture_library

    library = make_fixture_library(tmp_path / "lib", views=12, resolution=64)
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--out", str(out), "--library",
                           str(library), "--max-objects", "3", "--width", "160", "--height", "120",
                           "--samples", "2"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "stand in for" in proc.stdout  # the demo says plainly what stands in for the models
    for name in ("scene.blend", "reference.png", "layout.png", "side_by_side.png", "metrics.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    report = json.loads((out / "metrics.json").read_text())
    m = report["metrics"]
    assert "stand in for" in report["note"]
    assert m["ground_truth_objects"] == 3 and m["detected_objects"] >= 2
    assert m["class_accuracy"] >= 0.6  # of the ground truth's objects, found and of the right class
    assert m["iou_3d"] > 0.1 and m["centre_error_m"] < 1.0
    assert m["colliding_pairs"] == 0 and m["objects_outside_room"] == 0
