"""The real anthropic client against a local stub replaying Messages-API answers."""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from imaginarium.core.config import Secrets, VlmSettings
from imaginarium.core.errors import ApiAuthError, ApiError, ApiQuotaError, ModelOutputError
from imaginarium.core.perception.claude_vlm import ClaudeVlm
from imaginarium.core.perception.prompts import QUESTIONS, SCENE_TOOL

from .stub_server import StubServer

OBJECTS = [{"id": "chair_0", "label": "chair", "box": [10, 20, 40, 60], "size": [0.5, 0.5, 0.9]},
           {"id": "table_0", "label": "table", "box": [50, 30, 120, 80], "size": [1.2, 0.7, 0.75]},
           {"id": "vase_0", "label": "vase", "box": [70, 20, 80, 32], "size": None}]
FAST = {"retry-after-ms": "5"}


def message(tool_input=None, text=None):
    content = []
    if text:
        content.append({"type": "text", "text": text})
    if tool_input is not None:
        content.append({"type": "tool_use", "id": "toolu_01", "name": "report_scene", "input": tool_input})
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test", "content": content,
            "stop_reason": "tool_use" if tool_input is not None else "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 100, "output_tokens": 50}}


GOOD = {"objects": [{"id": "chair_0", "keep": True, "relation": "on_floor", "facing": "table_0"},
                    {"id": "table_0", "keep": True, "relation": "on_floor", "plausible_size": True},
                    {"id": "vase_0", "keep": True, "relation": "on_object", "support": "table_0"}],
        "groups": [], "missing_labels": ["lamp"]}


@pytest.fixture(scope="module")
def server():
    s = StubServer()
    yield s
    s.close()


def vlm(server, **kw):
    server.reset()
    settings = VlmSettings(base_url=server.url, timeout_s=kw.pop("timeout_s", 5.0), model="claude-test", **kw)
    return ClaudeVlm(settings, Secrets(anthropic_api_key="sk-test"), max_retries=1)


def rgb():
    img = np.zeros((60, 80, 3), np.uint8)
    img[:, :40] = (255, 0, 0)  # left half pure red
    return img


def test_structured_answer_image_in_rgb_order_and_tool_forced(server):
    client = vlm(server)
    server.set("/v1/messages", (200, message(GOOD)))
    answer = client.describe(rgb(), OBJECTS, ["chair", "table", "vase", "lamp"])
    assert answer.objects["vase_0"].relation == "on_object" and answer.objects["vase_0"].support == "table_0"
    assert answer.objects["chair_0"].facing == "table_0" and answer.missing_labels == ["lamp"] and answer.calls == 1
    req = server.requests[0]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert "sk-test" in (headers.get("x-api-key", "") + headers.get("authorization", ""))  # SDK versions differ
    body = req["json"]
    assert body["model"] == "claude-test" and body["tool_choice"] == {"type": "tool", "name": "report_scene"}
    assert body["tools"][0]["input_schema"] == SCENE_TOOL["input_schema"]
    image = next(b for b in body["messages"][0]["content"] if b["type"] == "image")
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(image["source"]["data"]))).convert("RGB"))
    assert tuple(sent[10, 10]) == (255, 0, 0)  # red stays red: RGB order, no BGR swap
    text = next(b for b in body["messages"][0]["content"] if b["type"] == "text")["text"]
    assert all(q in text for q in QUESTIONS) and "chair_0" in text


def test_one_retry_shows_the_model_its_error(server):
    client = vlm(server)
    bad = {"objects": [{"id": "sofa_9", "keep": True, "relation": "on_floor"}]}
    server.set("/v1/messages", (200, message(bad)), (200, message(GOOD)))
    answer = client.describe(rgb(), OBJECTS, ["chair"])
    assert answer.calls == 2
    retry = server.requests[1]["json"]["messages"]
    assert retry[1]["role"] == "assistant" and retry[1]["content"][0]["type"] == "tool_use"
    result = retry[2]["content"][0]
    assert result["type"] == "tool_result" and result["is_error"] is True
    assert "sofa_9" in result["content"][0]["text"]


def test_twice_wrong_shape_is_a_model_output_error(server):
    client = vlm(server)
    missing_relation = {"objects": [{"id": "chair_0", "keep": True}]}
    server.set("/v1/messages", (200, message(missing_relation)), (200, message(text="I think it is a chair.")))
    with pytest.raises(ModelOutputError, match="without calling the tool"):
        client.describe(rgb(), OBJECTS, ["chair"])
    assert "relation is required" in server.requests[1]["json"]["messages"][2]["content"][0]["content"][0]["text"]


def test_objects_are_batched_per_call(server):
    client = vlm(server, max_objects_per_call=2)
    first = {"objects": GOOD["objects"][:2], "groups": [["chair_0", "table_0"]]}
    second = {"objects": GOOD["objects"][2:]}
    server.set("/v1/messages", (200, message(first)), (200, message(second)))
    answer = client.describe(rgb(), OBJECTS, ["chair"])
    assert answer.calls == 2 and set(answer.objects) == {"chair_0", "table_0", "vase_0"}
    assert answer.groups == [["chair_0", "table_0"]]
    listed = [r["json"]["messages"][0]["content"][1]["text"] for r in server.requests]
    assert "vase_0" not in listed[0] and "vase_0" in listed[1]


@pytest.mark.parametrize("status, error, pattern", [
    (401, ApiAuthError, "401"), (429, ApiQuotaError, "429"), (529, ApiError, "529"), (500, ApiError, "500")])
def test_http_failures_become_typed_errors(server, status, error, pattern):
    client = vlm(server)
    body = {"type": "error", "error": {"type": "some_error", "message": "recorded failure"}}
    server.set("/v1/messages", (status, body, FAST))
    with pytest.raises(error, match=pattern) as exc:
        client.describe(rgb(), OBJECTS, ["chair"])
    assert exc.value.fix
    expected_calls = 1 if status == 401 else 2  # the SDK retried 429/5xx once (max_retries=1) before giving up
    assert len(server.requests) == expected_calls


def test_timeout_and_malformed_json(server):
    client = vlm(server, timeout_s=0.4)
    server.set("/v1/messages", (200, message(GOOD), {}, 1.2))
    with pytest.raises(ApiError, match="within 0.4 s"):
        client.describe(rgb(), OBJECTS, ["chair"])
    client = vlm(server)
    server.set("/v1/messages", (200, '{"id": "msg_01", "content": [', {"content-type": "application/json"}))
    with pytest.raises(ApiError):
        client.describe(rgb(), OBJECTS, ["chair"])


def test_pipeline_uses_the_vlm_when_a_key_is_set(server, tmp_path):
    from imaginarium.core.config import Settings
    from imaginarium.core.perception.pipeline import perceive

    from .scenes import write_scene

    folder = tmp_path / "scene"
    write_scene(folder, width=160, height=120)
    settings = Settings()
    settings.vlm.base_url = server.url
    settings.vlm.model = "claude-test"
    server.reset()
    ids = ["table_0", "box_0", "cabinet_0", "stool_0", "stool_1", "painting_0"]
    answer = {"objects": [{"id": i, "keep": True, "relation": "on_floor"} for i in ids if i != "box_0"]
              + [{"id": "box_0", "keep": True, "relation": "on_object", "support": "table_0"}],
              "groups": [["stool_0", "stool_1"]]}
    sizes = {"id": "msg_02", "type": "message", "role": "assistant", "model": "claude-test",
             "content": [{"type": "tool_use", "id": "toolu_02", "name": "report_sizes", "input": {"objects": []}}],
             "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}
    server.set("/v1/messages", (200, message(answer)), (200, sizes))  # the scene, then the floor objects' sizes
    obs = perceive(folder / "image.png", tmp_path / "run", settings, Secrets(anthropic_api_key="sk-test"),
                   depth_path=folder / "depth.npy", detections_path=folder / "detections.json", fov_deg=70)
    assert obs.graph.source == "geometry+vlm:claude-test"
    g = obs.graph.by_id()
    assert g["painting_0"].support == "floor"  # the VLM said on_floor: it decides the kind of relation
    assert g["box_0"].support == "table_0" and g["stool_0"].group == g["stool_1"].group
    assert obs.provenance["vlm"].startswith("claude (claude-test), 1 call")
    json.dumps(obs.to_dict())
