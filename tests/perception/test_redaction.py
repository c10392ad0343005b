"""Keys and tokens never reach a message, a fix, error details or the worker's error event.

The cloud clients are the real SDKs talking to a local stub that echoes the secret back in its
error bodies, as a misconfigured proxy or a verbose server does.
"""
from __future__ import annotations

import json
import urllib.parse

import numpy as np
import pytest

from imaginarium.core.config import DetectionSettings, Secrets, VlmSettings
from imaginarium.core.errors import (ApiError, ImaginariumError, SchemaError, WorkerError, error_from_dict, redact,
                                     register_secret)

from .stub_server import StubServer, fixture

DDS_TOKEN = "dds-Tok3n/with+odd=chars"
CLAUDE_KEY = "sk-ant-api03-Zz9_fuzzy-Key-0123456789"


def test_redact_removes_every_spelling_of_a_secret():
    secret = 'abc/def+ghi="jk'
    text = (f"plain {secret} url {urllib.parse.quote(secret, safe='')} plus {urllib.parse.quote_plus(secret)} "
            f"json {json.dumps({'t': secret})}")
    out = redact(text, [secret])
    assert "abc" not in out and out.count("[redacted]") == 4, out
    assert redact("short key abc", ["abc"]) == "short key abc"  # too short to be a key: words stay readable
    assert "sk-ant" not in redact("header: x-api-key sk-ant-api03-AAAAAAAAAAAAAAAA")
    assert redact("Authorization: Bearer 9f8e7d6c5b4a") == "Authorization: [redacted]"
    assert redact("Bearer authentication is required") == "Bearer authentication is required"


def test_a_registered_secret_is_scrubbed_from_every_part_of_a_typed_error():
    secret = "reg1stered-secret-value"
    register_secret(secret)
    err = ApiError(f"server said: bad token {secret}", f"do not use {secret}", body=f"echo {secret}",
                   nested={"list": [secret, 3]})
    for text in (err.message, err.fix, str(err), err.one_line(), json.dumps(err.to_dict())):
        assert secret not in text and "[redacted]" in text
    again = error_from_dict({"kind": "ApiError", "message": f"x {secret}", "fix": "y", "details": {"a": secret}})
    assert secret not in json.dumps(again.to_dict())
    assert secret not in str(SchemaError("field", f"value {secret}", "is wrong"))
    assert secret not in str(WorkerError(f"Op perceive failed: RuntimeError: {secret}"))


@pytest.fixture(scope="module")
def server():
    s = StubServer()
    yield s
    s.close()


def dds(server):
    from imaginarium.core.perception.dds_detector import DdsDetector

    server.reset()
    settings = DetectionSettings(dds_endpoint=server.url, timeout_s=5.0, retries=1)
    return DdsDetector(settings, Secrets(dds_api_token=DDS_TOKEN), backoff_s=0.01, poll_s=0.01)


RGB = np.zeros((48, 64, 3), np.uint8)


@pytest.mark.parametrize("status, body", [
    (400, {"code": 400, "msg": f"invalid token {DDS_TOKEN}", "echo": urllib.parse.quote(DDS_TOKEN, safe="")}),
    (200, {"code": 1, "msg": f"token {DDS_TOKEN} has no access to this model"}),
    (200, f"<html>proxy error for Token: {DDS_TOKEN}</html>"),
])
def test_dds_error_bodies_that_echo_the_token_do_not_leak_it(server, status, body):
    client = dds(server)
    server.set("/v2/task/dinox/detection", (status, body))
    with pytest.raises(ImaginariumError) as exc:
        client.detect(RGB, ["chair"])
    for text in (str(exc.value), json.dumps(exc.value.to_dict())):
        assert DDS_TOKEN not in text and urllib.parse.quote(DDS_TOKEN, safe="") not in text
    assert server.requests[0]["headers"]["Token"] == DDS_TOKEN  # the token did go to the (stub) server


def test_dds_failed_task_echoing_the_token_does_not_leak_it(server):
    client = dds(server)
    failed = fixture("dds_status_failed.json")
    failed["data"]["error"] = f"quota for {DDS_TOKEN} exceeded"
    server.set("/v2/task/dinox/detection", (200, fixture("dds_trigger_ok.json")))
    server.set("/v2/task_status/", (200, failed))
    with pytest.raises(ApiError, match="quota for") as exc:
        client.detect(RGB, ["chair"])
    assert DDS_TOKEN not in str(exc.value)


@pytest.mark.parametrize("status, body, headers", [
    (200, f"not json, but your key was {CLAUDE_KEY}", {"content-type": "text/plain"}),
    (502, {"type": "error", "error": {"type": "proxy", "message": f"upstream rejected {CLAUDE_KEY}"}},
     {"retry-after-ms": "1"}),
])
def test_anthropic_error_bodies_that_echo_the_key_do_not_leak_it(server, status, body, headers):
    from imaginarium.core.perception.claude_vlm import ClaudeVlm

    server.reset()
    settings = VlmSettings(base_url=server.url, model="claude-test", timeout_s=5.0)
    client = ClaudeVlm(settings, Secrets(anthropic_api_key=CLAUDE_KEY), max_retries=0)
    server.set("/v1/messages", (status, body, headers))
    objects = [{"id": "chair_0", "label": "chair", "box": [1, 1, 9, 9], "size": None}]
    with pytest.raises(ApiError) as exc:
        client.describe(RGB, objects, ["chair"])
    assert CLAUDE_KEY not in str(exc.value) and CLAUDE_KEY not in json.dumps(exc.value.to_dict())
