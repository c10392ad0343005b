"""The VLM's size answer (real anthropic client against the local stub): used when plausible, ignored with a note."""
from __future__ import annotations

import numpy as np
import pytest

from imaginarium.core.config import Secrets, VlmSettings
from imaginarium.core.errors import ModelOutputError
from imaginarium.core.library.priors import SizePriors
from imaginarium.core.perception.size_refine import SIZE_TOOL, refine_sizes
from imaginarium.core.schema import (AssetRecord, Box3D, Camera, Detection, Observation, Plane, SceneGraph,
                                     SceneObject)

from .stub_server import StubServer

# camera at the origin, 1.5 m up, looking along +Y (OpenCV axes: x right, y down, z forward)
CAMERA = Camera(200, 200, 160, 120, 320, 240, [[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 1.5], [0, 0, 0, 1]])


def message(tool_input):
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": "report_sizes", "input": tool_input}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}


def observation():
    """A bed measured as a shallow slab (seen from its foot), and a lamp standing on it (not asked)."""
    bed = SceneObject("bed_0", "double bed", Detection("double bed", 0.9, (60, 100, 260, 200)),
                      Box3D((0.0, 3.0, 0.5), (1.6, 0.5, 1.0), 0.0))
    lamp = SceneObject("lamp_0", "table lamp", Detection("table lamp", 0.9, (10, 10, 40, 60)),
                       Box3D((1.2, 3.5, 0.8), (0.2, 0.2, 0.4), 0.0), support="bed_0")
    return Observation("image.png", CAMERA, [Plane("floor", "floor", (0, 0, 1), 0.0)], SceneGraph([bed, lamp]))


@pytest.fixture(scope="module")
def priors():
    beds = [AssetRecord(str(i), f"bed{i}", "double bed", "bed", (1.5 + 0.1 * i, 2.0 + 0.05 * i, 1.0)) for i in range(5)]
    return SizePriors.from_assets(beds, source="test")


@pytest.fixture(scope="module")
def server():
    s = StubServer()
    yield s
    s.close()


def settings(server):
    server.reset()
    return VlmSettings(base_url=server.url, timeout_s=5.0, model="claude-test")


RGB = np.full((240, 320, 3), 128, np.uint8)
KEY = Secrets(anthropic_api_key="sk-test")


def test_a_plausible_answer_sets_width_and_depth_and_grows_away_from_the_camera(server, priors):
    s = settings(server)
    server.set("/v1/messages", (200, message({"objects": [{"id": "bed_0", "width_m": 1.62, "depth_m": 2.1}]})))
    out, notes = refine_sizes(observation(), RGB, priors, s, KEY, max_retries=0)
    bed = out.graph.by_id()["bed_0"]
    assert bed.box.size == pytest.approx((1.62, 2.1, 1.0))
    assert bed.box.center[1] == pytest.approx(3.0 + (2.1 - 0.5) / 2)  # the seen front stays, the back grows away
    assert bed.box.center[0] == pytest.approx(0.0) and bed.box.center[2] == pytest.approx(0.5)
    assert any("size refined by the VLM" in n for n in bed.notes)
    assert observation().graph.by_id()["bed_0"].box.size[1] == 0.5  # the input is not changed
    assert notes and "1 of 1" in notes[0]
    body = server.requests[0]["json"]
    assert body["tool_choice"] == {"type": "tool", "name": "report_sizes"}
    assert body["tools"][0]["input_schema"] == SIZE_TOOL["input_schema"]
    content = body["messages"][0]["content"]
    assert sum(1 for b in content if b["type"] == "image") == 2  # the image and the bed's crop
    text = content[-1]["text"]
    assert "bed_0" in text and "lamp_0" not in text  # only floor objects are asked


@pytest.mark.parametrize("answer, why", [
    ({"width_m": 9.0, "depth_m": 7.5}, "double bed is"),         # far outside the class's range
    ({"width_m": 1.6, "depth_m": 0.2}, "double bed is"),         # a bed 20 cm deep
])
def test_an_implausible_answer_is_ignored_with_a_note(server, priors, answer, why):
    s = settings(server)
    server.set("/v1/messages", (200, message({"objects": [{"id": "bed_0", **answer}]})))
    out, notes = refine_sizes(observation(), RGB, priors, s, KEY, max_retries=0)
    bed = out.graph.by_id()["bed_0"]
    assert bed.box.size == pytest.approx((1.6, 0.5, 1.0)) and bed.box.center == pytest.approx((0.0, 3.0, 0.5))
    assert any(n.startswith("size: ignored the VLM's") and why in n for n in bed.notes)
    assert "0 of 1" in notes[0]


def test_an_answer_smaller_than_what_was_seen_is_ignored(server):
    """Without a class prior the answer still may not shrink the measured box."""
    s = settings(server)
    server.set("/v1/messages", (200, message({"objects": [{"id": "bed_0", "width_m": 0.8, "depth_m": 0.4}]})))
    out, _ = refine_sizes(observation(), RGB, None, s, KEY, max_retries=0)
    assert any("smaller than" in n for n in out.graph.by_id()["bed_0"].notes)


def test_the_priors_interface_size_of_is_read_too(server):
    class Table:
        def size_of(self, label):
            return ((1.6, 2.05, 1.0), (0.2, 0.15, 0.1)) if "bed" in label else None

    s = settings(server)
    server.set("/v1/messages", (200, message({"objects": [{"id": "bed_0", "width_m": 1.7, "depth_m": 2.1}]})))
    out, _ = refine_sizes(observation(), RGB, Table(), s, KEY, max_retries=0)
    assert out.graph.by_id()["bed_0"].box.size[1] == pytest.approx(2.1)


def test_a_wrong_shape_is_retried_once_then_an_error(server, priors):
    s = settings(server)
    bad = message({"objects": [{"id": "sofa_9", "width_m": 2.0, "depth_m": 0.9}]})
    server.set("/v1/messages", (200, bad), (200, message({"objects": [{"id": "bed_0", "width_m": 1.6, "depth_m": 2.0}]})))
    out, _ = refine_sizes(observation(), RGB, priors, s, KEY, max_retries=0)
    assert out.graph.by_id()["bed_0"].box.size[1] == pytest.approx(2.0)
    retry = server.requests[1]["json"]["messages"][2]["content"][0]
    assert retry["type"] == "tool_result" and retry["is_error"] and "sofa_9" in retry["content"][0]["text"]
    s = settings(server)
    server.set("/v1/messages", (200, bad))
    with pytest.raises(ModelOutputError):
        refine_sizes(observation(), RGB, priors, s, KEY, max_retries=0)


def test_without_a_key_nothing_is_asked(server, priors):
    s = settings(server)
    out, notes = refine_sizes(observation(), RGB, priors, s, Secrets(), max_retries=0)
    assert not server.requests and out.graph.by_id()["bed_0"].box.size[1] == 0.5
    assert "no Anthropic key" in notes[0]
