"""Property-based fuzzing of every parser of outside data: only the project's typed errors may come out.

Each parser gets 1,000 generated inputs — random JSON, and near-valid answers with one field
broken (NaN, inf, huge integers, wrong types, boxes off the image, masks of the wrong size,
overlong labels) — and must either return well-formed results or raise the typed error its
callers expect. ``derandomize`` keeps the examples the same on every run (a CI failure can be
replayed); ``database=None`` keeps hypothesis from writing into the repository.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from imaginarium.core.errors import BadInputError, ModelOutputError
from imaginarium.core.perception.claude_vlm import check_answer, read_answer
from imaginarium.core.perception.dds_detector import parse_dds_result
from imaginarium.core.perception.depth_io import load_cached_depth, read_depth
from imaginarium.core.perception.detections_file import (MAX_LABEL_CHARS, load_cached_detections,
                                                          load_detections)
from imaginarium.core.perception.masks import decode_rle, encode_rle

H, W = 12, 16
FUZZ = settings(max_examples=1000, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-20, 40).map(float), st.just(10**400))
json_leaf = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12))
json_any = st.recursive(json_leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c,
                                                                                         max_size=3), max_leaves=6)
rle_text = st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=120), max_size=40)
rle = st.one_of(
    json_any,
    st.fixed_dictionaries({"size": st.one_of(st.just([H, W]), st.lists(st.integers(-3, 40), max_size=3),
                                             st.just([H]), st.just("12x16"), json_any),
                           "counts": st.one_of(st.lists(st.integers(-5, 200), max_size=12), rle_text,
                                               st.lists(numbers, max_size=4), json_any)}),
    st.binary(min_size=H * W // 8, max_size=H * W // 8).map(lambda b: encode_rle(bits(b, H, W))),
)
box = st.one_of(st.lists(numbers, min_size=4, max_size=4), st.lists(st.floats(-30, 60), min_size=4, max_size=4),
                json_any)
label = st.one_of(st.sampled_from(["chair", "table", "sofa", " Chair "]), st.text(max_size=80),
                  st.just("x" * 400), json_any)
score = st.one_of(st.floats(0, 1), numbers, json_any)


def bits(data: bytes, h: int, w: int) -> np.ndarray:
    """A bool (h, w) mask from random bytes (cheaper for hypothesis than h×w separate booleans)."""
    flat = np.unpackbits(np.frombuffer(data, np.uint8))[: h * w]
    return np.resize(flat, h * w).reshape(h, w).astype(bool)


def entry(mask: st.SearchStrategy) -> st.SearchStrategy:
    fields = st.fixed_dictionaries({"label": label, "box": box, "score": score, "mask": mask})
    return st.one_of(fields, fields.map(lambda d: {k: v for k, v in d.items() if k != "score"}), json_any)


def check_detections(dets: list) -> None:
    for d in dets:
        assert isinstance(d.label, str) and 0 < len(d.label) <= MAX_LABEL_CHARS
        assert 0.0 <= d.score <= 1.0
        x0, y0, x1, y1 = d.box
        assert all(math.isfinite(v) for v in d.box) and 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
        assert d.mask is None or (d.mask.shape == (H, W) and d.mask.dtype == bool and d.mask.any())


@FUZZ
@given(rle)
@example({"size": [H], "counts": [H * W]})
@example({"size": "ab", "counts": "0"})
@example({"size": [H, W], "counts": "o" * 50})
def test_decode_rle_raises_only_bad_input(value):
    try:
        mask = decode_rle(value, H, W)
    except BadInputError:
        return
    assert mask.shape == (H, W) and mask.dtype == bool


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.integers(1, 40), st.integers(1, 40), st.binary(min_size=1, max_size=200))
def test_compressed_rle_decodes_like_pycocotools(h, w, data):
    from pycocotools import mask as coco

    m = bits(data, h, w)
    enc = coco.encode(np.asfortranarray(m.astype(np.uint8)))
    assert np.array_equal(decode_rle({"size": [h, w], "counts": enc["counts"].decode()}, h, w), m)


@FUZZ
@given(st.one_of(st.lists(entry(rle), max_size=4), st.fixed_dictionaries({"detections": st.lists(entry(rle),
                                                                                                 max_size=3)}),
                 json_any))
def test_detections_file_raises_only_bad_input(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz_detections.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        dets = load_detections(path, H, W)
    except BadInputError:
        return
    check_detections(dets)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_deeply_nested_json_is_a_typed_error(tmp_path, text):
    (tmp_path / "d.json").write_text(text)
    with pytest.raises(BadInputError):
        load_detections(tmp_path / "d.json", H, W)
    with pytest.raises(BadInputError):
        load_cached_detections(tmp_path / "d.json", H, W)


cached = st.fixed_dictionaries({"backend": st.one_of(st.just("dds"), json_any),
                                "detections": st.lists(st.one_of(
                                    entry(st.one_of(st.none(), rle)),
                                    entry(st.none()).map(lambda d: {**d, "mask_source": "detector"}
                                                         if isinstance(d, dict) else d)), max_size=4)})


@FUZZ
@given(st.one_of(cached, json_any))
def test_cached_detections_raise_only_bad_input(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz_cached.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        dets, backend = load_cached_detections(path, H, W)
    except BadInputError:
        return
    check_detections(dets)
    assert isinstance(backend, str) and backend


dds_object = st.one_of(st.fixed_dictionaries({"category": label, "score": score, "bbox": box,
                                              "mask": st.one_of(st.none(), rle)}), json_any)
dds_result = st.one_of(st.fixed_dictionaries({"objects": st.one_of(st.lists(dds_object, max_size=4), json_any)}),
                       st.lists(dds_object, max_size=3), json_any)


@FUZZ
@given(dds_result)
@example([{"category": "chair", "score": 0.9, "bbox": [1, 1, 5, 5]}])  # a list where the object belongs
@example({"objects": [{"category": "chair", "score": float("nan"), "bbox": [1, 1, 5, 5]}]})
@example({"objects": [{"category": "chair", "score": 0.9, "bbox": [float("nan"), 1, 5, 5]}]})
def test_dds_answer_raises_only_model_output_errors(result):
    try:
        dets, notes = parse_dds_result(result, H, W, ["chair", "table", "sofa"], 0.3)
    except ModelOutputError:
        return
    check_detections(dets)
    assert all(d.label in ("chair", "table", "sofa") and d.score >= 0.3 for d in dets)
    assert all(isinstance(n, str) for n in notes)


IDS = ["chair_0", "table_0", "vase_0"]
ref = st.one_of(st.sampled_from(IDS), st.none(), json_any)
vlm_object = st.one_of(st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(IDS), json_any), "keep": st.one_of(st.booleans(), json_any),
     "relation": st.one_of(st.sampled_from(["on_floor", "on_object", "against_wall", "hanging_on_wall"]), json_any)},
    optional={"support": ref, "facing": ref, "plausible_size": st.one_of(st.booleans(), st.none(), json_any)}),
    json_any)
vlm_input = st.one_of(st.fixed_dictionaries(
    {"objects": st.one_of(st.lists(vlm_object, max_size=4), json_any)},
    optional={"groups": st.one_of(st.lists(st.lists(ref, max_size=3), max_size=2), json_any),
              "missing_labels": st.one_of(st.lists(label, max_size=3), json_any)}), json_any)


@FUZZ
@given(vlm_input)
def test_vlm_answer_raises_only_model_output_errors(data):
    problem = check_answer(data, set(IDS[:2]), set(IDS))
    assert isinstance(problem, str)
    try:
        objects, groups, missing = read_answer(data, set(IDS[:2]), set(IDS))
    except ModelOutputError:
        assert problem
        return
    assert not problem
    assert all(o.id in IDS[:2] and (o.support is None or o.support in IDS) for o in objects)
    assert all(len(g) > 1 and set(g) <= set(IDS) for g in groups)
    assert all(isinstance(m, str) and len(m) <= MAX_LABEL_CHARS for m in missing)


def as_dtype(values: np.ndarray, dtype: type) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0).clip(np.iinfo(dtype).min, np.iinfo(dtype).max)
    return values.astype(dtype)


depth_arrays = st.builds(
    lambda dtype, h, w, values: as_dtype(np.resize(np.array(values, dtype=np.float64), (h, w)), dtype),
    st.sampled_from([np.uint16, np.int32, np.float32, np.float64, np.uint8]), st.integers(1, 9), st.integers(1, 12),
    st.lists(st.one_of(st.floats(-5, 70000), st.sampled_from([0.0, 8.0 * 2400, float("nan"), float("inf")])),
             min_size=1, max_size=30))


@FUZZ
@given(st.one_of(depth_arrays, st.binary(max_size=200)))
def test_depth_files_raise_only_bad_input(tmp_path_factory, data):
    path = tmp_path_factory.getbasetemp() / "fuzz_depth.npy"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        np.save(path, data)
    rgb = np.full((H, W, 3), 128, np.uint8)
    try:
        depth, report = read_depth(path, W, H, rgb=rgb, focal_px=14.0)
    except BadInputError:
        pass
    else:
        assert depth.shape == (H, W) and depth.dtype == np.float32
        assert not (depth[np.isfinite(depth)] <= 0).any() and 0.05 <= report.valid_fraction <= 1.0
    try:
        cached_depth = load_cached_depth(path, H, W)
    except BadInputError:
        return
    assert cached_depth.shape == (H, W)


# The same parser behind the real dds-cloudapi-sdk client and a local stub server.

@pytest.fixture(scope="module")
def dds_server():
    from .stub_server import StubServer

    s = StubServer()
    yield s
    s.close()


def dds_answer(dds_server, result):
    from imaginarium.core.config import DetectionSettings, Secrets
    from imaginarium.core.perception.dds_detector import DdsDetector

    from .stub_server import fixture

    dds_server.reset()
    done = fixture("dds_dinox_success.json")
    done["data"]["result"] = result
    dds_server.set("/v2/task/dinox/detection", (200, fixture("dds_trigger_ok.json")))
    dds_server.set("/v2/task_status/", (200, done))
    settings = DetectionSettings(dds_endpoint=dds_server.url, timeout_s=5.0, retries=1, box_threshold=0.3)
    return DdsDetector(settings, Secrets(dds_api_token="tok-fuzz-1"), backoff_s=0.01, poll_s=0.01)


@pytest.mark.parametrize("result, pattern", [
    ([{"category": "chair", "score": 0.9, "bbox": [1, 1, 5, 5]}], "result is list"),
    ({"objects": [{"category": "chair", "score": 0.9, "bbox": [1, 1, float("nan"), 5]}]}, r"object 0 \('chair'\)"),
    ({"objects": [{"category": "chair", "score": 0.9, "bbox": [1, 1, 900, 5]}]}, "outside the 16x12 image"),
    ({"objects": [{"category": "chair", "score": 0.9, "bbox": [1, 1, 5, 5],
                   "mask": {"size": [12], "counts": [192]}}]}, "size"),
])
def test_malformed_dds_answers_through_the_real_sdk_name_the_object(dds_server, result, pattern):
    detector = dds_answer(dds_server, result)
    with pytest.raises(ModelOutputError, match=pattern):
        detector.detect(np.zeros((H, W, 3), np.uint8), ["chair"])


def test_large_images_are_shrunk_by_us_and_answers_scaled_back(dds_server):
    import base64
    import io

    from PIL import Image

    m = np.zeros((1152, 1536), bool)
    m[100:300, 200:500] = True
    detector = dds_answer(dds_server, {"objects": [{"category": "chair", "score": 0.9, "bbox": [200, 100, 500, 300],
                                                    "mask": {**encode_rle(m), "format": "coco_rle"}}]})
    rgb = np.zeros((1200, 1600, 3), np.uint8)
    [det] = detector.detect(rgb, ["chair"])
    sent = next(r for r in dds_server.requests if r["method"] == "POST")["json"]["image"]
    assert Image.open(io.BytesIO(base64.b64decode(sent.split(",", 1)[1]))).size == (1536, 1152)
    assert det.box == pytest.approx((200 * 1600 / 1536, 100 * 1200 / 1152, 500 * 1600 / 1536, 300 * 1200 / 1152))
    assert det.mask.shape == (1200, 1600)
    ys, xs = np.nonzero(det.mask)
    assert abs(xs.min() - 208) <= 1 and abs(xs.max() + 1 - 521) <= 1 and abs(ys.min() - 104) <= 1


@FUZZ
@given(json_any)
def test_json_check_only_lists_problems(value):
    from imaginarium.core.perception.json_check import validate
    from imaginarium.core.perception.prompts import SCENE_TOOL

    problems = validate(value, SCENE_TOOL["input_schema"])
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    is_number = isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and math.isfinite(value)
    assert (validate(value, {"type": "number"}) == []) == is_number  # NaN and inf are not JSON numbers
