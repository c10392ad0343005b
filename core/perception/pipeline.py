"""``perceive``: one image (plus optional depth / detections) → a run folder with the Observation.

Run folder layout (paths in observation.json are relative to it):

* ``image.png`` — the input as the pipeline saw it (EXIF rotation applied, 8-bit RGB);
* ``depth.npy`` — float32 z-depth in metres at image size (NaN = unknown);
* ``detections.json`` — raw detections (label, score, box, RLE mask or none, mask source);
* ``masks/<object_id>.png`` — one mask per object (what ``Detection.mask`` points to);
* ``observation.json`` — the :class:`core.schema.Observation`;
* ``depth_colour.png``, ``masks_overlay.png``, ``planes_overlay.png`` — for a person to inspect;
* ``stages.json`` — the cache key of each finished stage.

Stages (depth, detections, observation) rerun only when their key changed — the key hashes
the input files' contents and the settings that stage reads — or when ``clean`` is set.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Secrets, Settings
from ..errors import BadInputError
from ..geometry.boxes import ObjectBox, SupportSurface, object_box
from ..geometry.camera import Intrinsics, resolve_intrinsics
from ..geometry.room import RoomEstimate, estimate_room
from ..schema import Camera, Detection, Observation, is_structure_id
from . import backends, overlays
from .images import file_hash, load_image
from .masks import decode_rle, encode_rle, suppress_duplicates, write_mask_png
from .plane_distance import plane_distance_map
from .prompts import DEFAULT_LABELS, FLOOR_LABELS, STRUCTURE_LABELS
from .protocols import RawDetection
from .scene_graph import Item, build_scene_graph
from .segment import segment_in_box

OUTPUTS = ("image.png", "depth.npy", "detections.json", "observation.json", "stages.json", "depth_colour.png",
           "masks_overlay.png", "planes_overlay.png")


class _Progress:
    """Progress and cancellation through the worker's JobContext, or nothing when run directly."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def __call__(self, fraction: float, message: str) -> None:
        if self.ctx is not None:
            self.ctx.check_cancelled()
            self.ctx.progress(fraction, message)


def perceive(image_path: str | Path, run_dir: str | Path, settings: Settings | None = None,
             secrets: Secrets | None = None, *, depth_path: str | Path | None = None,
             intrinsics: tuple[float, float, float, float] | None = None, detections_path: str | Path | None = None,
             fov_deg: float | None = None, labels: list[str] | None = None, ctx: Any = None,
             clean: bool = False) -> Observation:
    """Run perception and write the run folder; returns the Observation (also in observation.json)."""
    settings = settings or Settings()
    secrets = secrets if secrets is not None else Secrets()
    step = _Progress(ctx)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    if clean:
        _clean(run)
    stages = _read_json(run / "stages.json") or {}
    computed: dict[str, str] = {}

    step(0.02, "loading image")
    image = load_image(image_path)
    rgb = image.rgb
    h, w = rgb.shape[:2]
    k = resolve_intrinsics(w, h, fov_deg=fov_deg, intrinsics=intrinsics, exif=image.exif)
    labels = [lab.strip().lower() for lab in (labels or DEFAULT_LABELS) if lab and lab.strip()]
    if not labels:
        raise BadInputError("The label list is empty.", "Pass object labels to look for, or leave them unset.")
    if not (run / "image.png").exists() or stages.get("image") != image.sha256:
        from PIL import Image

        Image.fromarray(rgb).save(run / "image.png")
        stages["image"] = image.sha256

    step(0.05, "depth")
    depth_key = _key("depth", image.sha256, file_hash(Path(depth_path)) if depth_path else None,
                     None if depth_path else vars(settings.depth), settings.device.device)
    depth_file = run / "depth.npy"
    if stages.get("depth") == depth_key and depth_file.exists():
        depth = np.load(depth_file)
        computed["depth"] = "cached"
    else:
        depth = backends.depth_backend(settings, depth_path).predict(rgb, k).astype(np.float32)
        if depth.shape != (h, w):
            raise BadInputError(f"Depth backend returned {depth.shape}, expected {(h, w)}.", "Report this as a bug.")
        np.save(depth_file, depth)
        stages["depth"], computed["depth"] = depth_key, "computed"
        _write_json(run / "stages.json", stages)
    step(0.35, "detections")
    det_settings = {k2: v for k2, v in vars(settings.detection).items()}
    det_key = _key("detections", image.sha256, file_hash(Path(detections_path)) if detections_path else None,
                   None if detections_path else det_settings, labels, bool(secrets.dds_api_token))
    det_file = run / "detections.json"
    if stages.get("detections") == det_key and det_file.exists():
        raw, det_backend = _load_raw(det_file, h, w)
        computed["detections"] = "cached"
    else:
        backend = backends.detection_backend(settings, secrets, detections_path)
        raw = backend.detect(rgb, labels, image_path=str(image.path), depth=depth, ctx=ctx)
        det_backend = backend.name
        _save_raw(det_file, raw, det_backend)
        stages["detections"], computed["detections"] = det_key, "computed"
        _write_json(run / "stages.json", stages)

    vlm_on = bool(secrets.anthropic_api_key)
    obs_key = _key("observation", depth_key, det_key, (k.fx, k.fy, k.cx, k.cy), vars(settings.vlm) if vlm_on else None)
    if stages.get("observation") == obs_key and (run / "observation.json").exists():
        step(1.0, "cached")
        return Observation.load(run / "observation.json")

    step(0.55, "room geometry")
    floor_mask = _union([d.mask for d in raw if d.label in FLOOR_LABELS and d.mask is not None], h, w)
    object_mask = _union([d.mask for d in raw if d.label not in FLOOR_LABELS and d.mask is not None], h, w)
    room = estimate_room(depth, k, floor_mask=floor_mask, exclude_mask=object_mask)
    step(0.65, "masks")
    plane_dist = None
    taken = np.zeros((h, w), bool)
    for det in sorted(raw, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1])):  # small objects first
        if det.mask is None:
            if plane_dist is None:
                plane_dist = plane_distance_map(depth, k, room)
            det.mask = segment_in_box(rgb, depth, det.box, plane_dist, exclude=taken)
            det.mask_source = "depth-segmentation"
        if det.label not in FLOOR_LABELS:
            taken |= det.mask
    objects_raw = [d for d in raw if d.label not in STRUCTURE_LABELS]
    kept = suppress_duplicates(objects_raw)
    step(0.75, "3D boxes")
    ids = _object_ids(kept)
    boxes = _boxes(kept, ids, depth, k, room)
    items = [Item(oid, d.label, _detection(d, oid), boxes[oid].box if boxes[oid] else None,
                  round(float(d.score) * (boxes[oid].confidence if boxes[oid] else 0.2), 4))
             for oid, d in zip(ids, kept)]
    step(0.85, "scene graph")
    vlm = backends.vlm_backend(settings, secrets)
    answer = None
    if vlm is not None and items:
        answer = vlm.describe(rgb, [{"id": it.id, "label": it.label, "box": list(it.detection.box),
                                     "size": list(it.box.size) if it.box else None} for it in items], labels)
    graph = build_scene_graph(items, room.planes, answer,
                              camera_xy=(float(room.world_from_camera[0, 3]), float(room.world_from_camera[1, 3])))

    step(0.92, "writing run folder")
    masks_dir = run / "masks"
    masks_dir.mkdir(exist_ok=True)
    for old in masks_dir.glob("*.png"):
        old.unlink()
    for oid, d in zip(ids, kept):
        write_mask_png(masks_dir / f"{oid}.png", d.mask)
    camera = Camera(k.fx, k.fy, k.cx, k.cy, w, h, room.world_from_camera.tolist())
    provenance = {
        "image": {"source": str(Path(image_path).resolve()), "sha256": image.sha256},
        "camera": k.source, "depth": "file " + str(depth_path) if depth_path else f"depth-anything ({settings.depth.model})",
        "detection": det_backend, "labels": labels,
        "masks": {src: sum(1 for d in kept if d.mask_source == src) for src in {d.mask_source for d in kept}},
        "duplicates_removed": len(objects_raw) - len(kept), "floor": room.floor_source, "camera_height_m": room.camera_height,
        "vlm": f"claude ({settings.vlm.model}), {answer.calls} call(s)" if answer else
               "none: no ANTHROPIC_API_KEY, scene graph from geometry alone",
        "scene_graph": graph.source, "notes": room.notes,
        "boxes_extended": {oid: b.extended_to for oid, b in boxes.items() if b and b.extended_to},
        "stages": {**computed, "observation": "computed"},
    }
    obs = Observation("image.png", camera, room.planes, graph, "depth.npy", provenance)
    obs.save(run / "observation.json")
    overlays.save_depth_colour(run / "depth_colour.png", depth)
    overlays.save_masks_overlay(run / "masks_overlay.png", rgb, [(oid, d.mask, d.box) for oid, d in zip(ids, kept)])
    overlays.save_planes_overlay(run / "planes_overlay.png", rgb, room.label_map)
    stages["observation"] = obs_key
    _write_json(run / "stages.json", stages)
    step(1.0, "done")
    return obs


def _boxes(dets: list[RawDetection], ids: list[str], depth: np.ndarray, k: Intrinsics,
           room: RoomEstimate) -> dict[str, ObjectBox | None]:
    """First pass without supports; hidden-bottom boxes are redone knowing the other objects' tops."""
    out = {oid: object_box(d.mask, depth, k, room.world_from_camera, planes=room.planes) for oid, d in zip(ids, dets)}
    for oid, d in zip(ids, dets):
        ob = out[oid]
        if ob is None or not ob.bottom_hidden:
            continue
        cam_xy = (float(room.world_from_camera[0, 3]), float(room.world_from_camera[1, 3]))
        supports = [SupportSurface(o, b.box.center[2] + b.box.size[2] / 2, b.box, cam_xy) for o, b in out.items()
                    if o != oid and b is not None and b.box.size[2] > 0.05]
        out[oid] = object_box(d.mask, depth, k, room.world_from_camera, supports=supports, planes=room.planes)
    return out


def _object_ids(dets: list[RawDetection]) -> list[str]:
    counts: dict[str, int] = {}
    ids = []
    for d in dets:
        slug = re.sub(r"[^a-z0-9]+", "_", d.label.lower()).strip("_") or "object"
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        oid = f"{slug}_{n}"
        ids.append(f"obj_{oid}" if is_structure_id(oid) else oid)
    return ids


def _detection(d: RawDetection, oid: str) -> Detection:
    return Detection(d.label, min(1.0, max(0.0, float(d.score))), tuple(float(v) for v in d.box),
                     {"png": f"masks/{oid}.png"})


def _union(masks: list[np.ndarray], h: int, w: int) -> np.ndarray | None:
    if not masks:
        return None
    out = np.zeros((h, w), bool)
    for m in masks:
        out |= m
    return out


def _save_raw(path: Path, dets: list[RawDetection], backend: str) -> None:
    _write_json(path, {"backend": backend, "detections": [
        {"label": d.label, "score": d.score, "box": list(d.box), "mask_source": d.mask_source,
         "mask": encode_rle(d.mask) if d.mask is not None else None} for d in dets]})


def _load_raw(path: Path, h: int, w: int) -> tuple[list[RawDetection], str]:
    data = _read_json(path) or {}
    out = []
    for d in data.get("detections", []):
        mask = decode_rle(d["mask"], h, w, str(path)) if d.get("mask") else None
        out.append(RawDetection(d["label"], float(d["score"]), tuple(d["box"]), mask, d.get("mask_source", "")))
    return out, str(data.get("backend", "cached"))


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


def _clean(run: Path) -> None:
    """Remove only what this stage writes, never anything else a user put in the folder."""
    for name in OUTPUTS:
        (run / name).unlink(missing_ok=True)
    masks = run / "masks"
    if masks.is_dir():
        for f in masks.glob("*.png"):
            f.unlink()
