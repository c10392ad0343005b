"""Texture choice by Claude: the real anthropic client against a local stub of the Messages API."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from imaginarium.core.config import Secrets, VlmSettings
from imaginarium.core.errors import ApiAuthError, ModelOutputError
from imaginarium.core.matching.texture_vlm import TOOL_NAME, ClaudeTextureChooser, texture_chooser
from tests.perception.stub_server import StubServer

OPTIONS = {"floor": [("oak", "light oak planks"), ("marble", "white marble tiles")],
           "wall": [("plaster", "white plaster"), ("brick", "red brick")],
           "ceiling": [("white", "white ceiling")]}


def message(tool_input):
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "tool_use", "id": "toolu_01", "name": TOOL_NAME, "input": tool_input}],
            "stop_reason": "tool_use", "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}


@pytest.fixture(scope="module")
def server():
    s = StubServer()
    yield s
    s.close()


def chooser(server) -> ClaudeTextureChooser:
    server.reset()
    return ClaudeTextureChooser(VlmSettings(base_url=server.url, timeout_s=5.0, model="claude-test"),
                                Secrets(anthropic_api_key="sk-test"), max_retries=0)


def test_answer_is_validated_and_request_carries_image_captions_and_forced_tool(server) -> None:
    c = chooser(server)
    server.set("/v1/messages", (200, message({"floor": "marble", "wall": "brick", "ceiling": "white"})))
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :30] = (255, 0, 0)
    assert c(img, OPTIONS) == {"floor": "marble", "wall": "brick", "ceiling": "white"}
    req = server.requests[-1]["json"]
    assert req["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert req["tools"][0]["input_schema"]["properties"]["floor"]["enum"] == ["oak", "marble"]
    blocks = req["messages"][0]["content"]
    assert "red brick" in blocks[1]["text"] and "white marble tiles" in blocks[1]["text"]
    from PIL import Image

    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(blocks[0]["source"]["data"]))).convert("RGB"))
    assert tuple(sent[5, 5]) == (255, 0, 0)   # RGB order kept


def test_unknown_id_is_a_model_output_error(server) -> None:
    c = chooser(server)
    server.set("/v1/messages", (200, message({"floor": "carpet", "wall": "brick", "ceiling": "white"})))
    with pytest.raises(ModelOutputError, match="carpet"):
        c(np.zeros((8, 8, 3), np.uint8), OPTIONS)


def test_bad_key_is_a_typed_error_and_no_key_means_no_vlm(server) -> None:
    c = chooser(server)
    server.set("/v1/messages", (401, {"type": "error", "error": {"type": "authentication_error", "message": "bad"}}))
    with pytest.raises(ApiAuthError):
        c(np.zeros((8, 8, 3), np.uint8), OPTIONS)
    assert texture_chooser(VlmSettings(), Secrets()) is None
