"""The real dds-cloudapi-sdk client against a local stub replaying DDS-shaped answers."""
from __future__ import annotations


import numpy as np
import pytest

from imaginarium.core.config import DetectionSettings, Secrets
from imaginarium.core.errors import ApiAuthError, ApiError, ApiQuotaError
from imaginarium.core.perception.dds_detector import DdsDetector

from .stub_server import StubServer, fixture

RGB = np.zeros((120, 160, 3), np.uint8)
LABELS = ["chair", "table", "sofa"]


@pytest.fixture(scope="module")
def server():
    s = StubServer()
    yield s
    s.close()


@pytest.fixture()
def detector(server):
    server.reset()
    settings = DetectionSettings(dds_endpoint=server.url, timeout_s=5.0, retries=3, box_threshold=0.3)
    return DdsDetector(settings, Secrets(dds_api_token="tok-123"), backoff_s=0.05, poll_s=0.05)


def test_success_decodes_boxes_rle_masks_and_filters(server, detector):
    server.set("/v2/task/dinox/detection", (200, fixture("dds_trigger_ok.json")))
    server.set("/v2/task_status/", (200, fixture("dds_status_running.json")), (200, fixture("dds_dinox_success.json")))
    dets = detector.detect(RGB, LABELS)
    assert [d.label for d in dets] == ["chair", "table"]  # 'dining table' not asked, low score and 'window' dropped
    chair = dets[0]
    assert chair.box == pytest.approx((20.4, 30.0, 60.7, 90.2))
    assert chair.mask.shape == (120, 160) and chair.mask.sum() == 60 * 40 and chair.mask[50, 30]
    trigger = next(r for r in server.requests if r["method"] == "POST")
    assert trigger["headers"]["Token"] == "tok-123"
    body = trigger["json"]
    assert body["model"] == "DINO-X-1.0" and body["prompt"]["text"] == "chair.table.sofa"
    assert body["image"].startswith("data:image/png;base64,") and body["mask_format"] == "coco_rle"
    assert sum(1 for r in server.requests if "task_status" in r["path"]) == 2  # polled until success


def test_grounding_dino_15_model_uses_its_own_path(server, detector):
    detector.settings.dds_model = "GroundingDino-1.5-Pro"
    server.set("/v2/task/grounding_dino/detection", (200, fixture("dds_trigger_ok.json")))
    server.set("/v2/task_status/", (200, fixture("dds_dinox_success.json")))
    assert len(detector.detect(RGB, LABELS)) == 2


def test_401_is_an_auth_error_without_retrying(server, detector):
    server.set("/v2/task/dinox/detection", (401, fixture("dds_401.json")))
    with pytest.raises(ApiAuthError, match="HTTP 401") as exc:
        detector.detect(RGB, LABELS)
    assert "DDS_API_TOKEN" in exc.value.fix
    assert len(server.requests) == 1


def test_429_retries_with_backoff_then_succeeds_or_reports_quota(server, detector):
    server.set("/v2/task/dinox/detection", (429, fixture("dds_429.json")), (429, fixture("dds_429.json")),
               (200, fixture("dds_trigger_ok.json")))
    server.set("/v2/task_status/", (200, fixture("dds_dinox_success.json")))
    assert len(detector.detect(RGB, LABELS)) == 2
    assert sum(1 for r in server.requests if r["method"] == "POST") == 3
    server.reset()
    server.set("/v2/task/dinox/detection", (429, fixture("dds_429.json")))
    with pytest.raises(ApiQuotaError, match="429"):
        detector.detect(RGB, LABELS)
    assert len(server.requests) == 3  # settings.retries attempts


def test_5xx_and_malformed_json_and_failed_task(server, detector):
    server.set("/v2/task/dinox/detection", (502, "<html>Bad gateway</html>"))
    with pytest.raises(ApiError, match="HTTP 502"):
        detector.detect(RGB, LABELS)
    server.reset()
    server.set("/v2/task/dinox/detection", (200, "{this is not json"))
    with pytest.raises(ApiError, match="not JSON"):
        detector.detect(RGB, LABELS)
    server.reset()
    server.set("/v2/task/dinox/detection", (200, fixture("dds_trigger_ok.json")))
    server.set("/v2/task_status/", (200, fixture("dds_status_failed.json")))
    with pytest.raises(ApiError, match="model overloaded"):
        detector.detect(RGB, LABELS)


def test_polling_deadline_and_slow_server_timeout(server, detector):
    detector.settings.timeout_s = 0.6
    server.set("/v2/task/dinox/detection", (200, fixture("dds_trigger_ok.json")))
    server.set("/v2/task_status/", (200, fixture("dds_status_running.json")))
    with pytest.raises(ApiError, match="did not finish within") as exc:
        detector.detect(RGB, LABELS)
    polls = sum(1 for r in server.requests if "task_status" in r["path"])
    # it kept polling until the deadline, and stopped there (no more polls than fit in the deadline)
    assert 2 <= polls <= round(detector.settings.timeout_s / detector.poll_s) + 1
    assert "timeout_s" in exc.value.fix
    server.reset()
    server.set("/v2/task/dinox/detection", (200, fixture("dds_trigger_ok.json"), {}, 1.5))  # slower than the deadline
    with pytest.raises(ApiError, match="in time"):
        detector.detect(RGB, LABELS)


def test_no_token_is_an_auth_error_up_front():
    with pytest.raises(ApiAuthError, match="No DDS API token"):
        DdsDetector(DetectionSettings(), Secrets())


def test_sdk_import_starts_no_telemetry():
    import sentry_sdk

    from imaginarium.core.perception.dds_detector import _sdk

    _sdk()
    assert not sentry_sdk.get_client().is_active()
