"""``perceive``: one image (plus optional depth / detections / library) → a run folder with the Observation.

Run folder layout (paths in observation.json are relative to it):

* ``image.png`` — the input as the pipeline saw it (EXIF rotation applied, 8-bit RGB);
* ``depth.npy`` — float32 z-depth in metres at image size (NaN = unknown);
  ``depth_report.json`` — the units assumed and what cleaning did (its notes go into the Observation);
* ``detections.json`` — raw detections (label, score, box, RLE mask or none, mask source), including
  any found on a second look; ``detections_info.json`` — the labels asked for and where they came
  from, the detector's notes, and which detections the second look found;
* ``masks/<object_id>.png`` — one mask per object (what ``Detection.mask`` points to);
* ``observation.json`` — the :class:`core.schema.Observation`;
* ``depth_colour.png``, ``masks_overlay.png``, ``planes_overlay.png`` — for a person to inspect;
* ``stages.json`` — each committed stage's cache key and the sha256 of its files;
* ``run.json`` — the folder's own id (see :func:`core.runfolder.run_id`).

Stages (image, depth, detections, observation) are reused only when their key matches — the
key hashes the input files' contents and the settings that stage reads (for labels chosen from a
library: the library's class names, not the labels a VLM picked, so a cached run calls no model)
— and their committed files still have the recorded hashes; ``clean`` ignores the cache.
Everything is checked before the folder is touched, computed in a staging folder, and committed
together (see :mod:`core.runfolder`): a failed or cancelled run leaves the previous run exactly
as it was.

The recipe of the observation step: room planes; masks (windows and doors take their box,
box-only objects are segmented from depth); 3D boxes; the VLM's scene answer; a second detector
look for what was missed (when the detector ran here); the scene graph; the VLM's verdicts
(removed objects, refined sizes); groups checked for look-alike crops; windows and doors set into
their walls (:mod:`.scene_steps` holds these steps).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Secrets, Settings
from ..geometry.camera import Intrinsics, check_intrinsics, resolve_intrinsics
from ..geometry.room import RoomEstimate, estimate_room
from ..runfolder import OBSERVATION_STAGES, RunFolder, Transaction, sha256_file, stage_key
from ..schema import Camera, Observation
from . import backends, overlays
from . import scene_steps as steps
from . import stage_files as sf
from .depth_io import load_cached_depth
from .detections_file import load_cached_detections, save_cached_detections
from .images import LoadedImage, load_image
from .masks import suppress_duplicates, write_mask_png
from .openings import box_mask, opening_kind, openings_summary
from .plane_distance import plane_distance_map
from .prompts import DEFAULT_LABELS, FLOOR_LABELS, ROOM_SURFACE_LABELS
from .protocols import RawDetection
from .scene_graph import Item, build_scene_graph
from .segment import segment_boxes
from .verdicts import apply_verdicts
from .vocabulary_prompt import DetectionLabels

STAGES = OBSERVATION_STAGES
OVERLAYS = ("depth_colour.png", "masks_overlay.png", "planes_overlay.png")
NO_BOX_CONFIDENCE = 0.2  # an object seen in 2D but without a 3D box is kept, trusted little
FORMAT = 2  # of the stage files; part of every key, so a run folder written before is recomputed once


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
             fov_deg: float | None = None, labels: list[str] | None = None, library: Any = None,
             vocabulary: Any = None, ctx: Any = None, clean: bool = False) -> Observation:
    """Run perception and commit the run folder; returns the Observation (also in observation.json).

    ``library`` (a library folder or a loaded Catalogue) lets the detector look for the library's
    classes (or what the VLM sees, in the library's words) and gives the VLM's size verdicts the
    library's class sizes; ``vocabulary`` overrides the library's own. Without labels or a library
    the built-in label list is used.

    Raises :class:`~core.errors.BadInputError` for any unusable input or unwritable run folder,
    always before the committed run is changed.
    """
    settings = settings or Settings()
    secrets = secrets if secrets is not None else Secrets()
    step = _Progress(ctx)

    # 1. Every input is checked before the run folder is touched: a typo under --clean deletes nothing.
    run = RunFolder(run_dir)
    step(0.02, "loading image")
    image = load_image(image_path)
    depth_in = sf.input_file(depth_path, "depth map", "--depth")
    det_in = sf.input_file(detections_path, "detections file", "--detections")
    h, w = image.rgb.shape[:2]
    k = resolve_intrinsics(w, h, fov_deg=fov_deg, intrinsics=intrinsics, exif=image.exif)
    given = sf.clean_labels(labels, DEFAULT_LABELS) if labels else None
    lib = steps.library_context(library, vocabulary, settings)
    keys = _keys(image, depth_in, det_in, k, given, lib, settings, secrets)

    # 2. Reuse committed stages whose key matches and whose files are intact.
    notes = list(run.notes) + check_intrinsics(k) + lib.notes
    reuse = {}
    for stage in STAGES:
        ok, note = (False, None) if clean else run.cached(stage, keys[stage])
        reuse[stage] = ok
        if note:
            notes.append(note)
    if all(reuse.values()):
        step(1.0, "cached")
        return Observation.load(run.path / "observation.json")

    # 3. Compute what is missing into a staging folder; commit all of it or nothing.
    try:
        with run.begin("observation") as txn:
            obs = _compute(txn, _Inputs(image, k, given, lib, keys, reuse, depth_in, det_in, image_path),
                           notes, settings, secrets, step, ctx)
            step(0.97, "committing the run folder")
            txn.commit(last=["observation.json"])
    except BaseException:
        run.discard_if_new()
        raise
    step(1.0, "done")
    return obs


@dataclass
class _Inputs:
    """What the caller gave and what was decided before computing (passed down as one)."""

    image: LoadedImage
    k: Intrinsics
    given: list[str] | None
    lib: steps.LibraryContext
    keys: dict[str, str]
    reuse: dict[str, bool]
    depth_in: Path | None
    det_in: Path | None
    image_path: str | Path


def _keys(image: LoadedImage, depth_in: Path | None, det_in: Path | None, k: Intrinsics, given: list[str] | None,
          lib: steps.LibraryContext, settings: Settings, secrets: Secrets) -> dict[str, str]:
    vlm_on = bool(secrets.anthropic_api_key)
    depth = stage_key("depth", FORMAT, image.sha256, sha256_file(depth_in) if depth_in else None,
                      None if depth_in else vars(settings.depth), settings.device.device)
    labels = given if given is not None else (lib.labels_key() or list(DEFAULT_LABELS))
    det = stage_key("detections", FORMAT, image.sha256, sha256_file(det_in) if det_in else None,
                    None if det_in else dict(vars(settings.detection)), labels, bool(secrets.dds_api_token),
                    # a detector run here also looks again (the VLM's missing labels, or regions off the planes)
                    None if det_in else (depth, vars(settings.vlm) if vlm_on else None))
    groups = (settings.retrieval.embedder, settings.retrieval.dinov2_model, settings.paths.weights_dir)
    obs = stage_key("observation", FORMAT, depth, det, (k.fx, k.fy, k.cx, k.cy), vars(settings.vlm) if vlm_on else None,
                    lib.fingerprint(), groups)
    return {"image": image.sha256, "depth": depth, "detections": det, "observation": obs}


def _compute(txn: Transaction, inp: _Inputs, notes: list[str], settings: Settings, secrets: Secrets,
             step: _Progress, ctx: Any) -> Observation:
    run = txn.run.path
    rgb, k, keys, reuse = inp.image.rgb, inp.k, inp.keys, inp.reuse
    h, w = rgb.shape[:2]
    computed: dict[str, str] = {}
    if not reuse["image"]:
        from PIL import Image

        Image.fromarray(rgb).save(txn.file("image.png"))
        txn.put("image", keys["image"], ["image.png"])

    step(0.05, "depth")
    if reuse["depth"]:
        depth = load_cached_depth(run / "depth.npy", h, w)
        report = sf.load_depth_report(run / sf.DEPTH_REPORT)
        computed["depth"] = "cached"
    else:
        depth, report = steps.estimate_depth(settings, inp.depth_in, rgb, k)
        np.save(txn.file("depth.npy"), depth)
        sf.save_depth_report(txn.file(sf.DEPTH_REPORT), report)
        txn.put("depth", keys["depth"], ["depth.npy", sf.DEPTH_REPORT])
        computed["depth"] = "computed"
    if report is not None:
        notes.extend(report.notes)

    step(0.35, "detections")
    detector = None
    if reuse["detections"]:
        raw, det_backend = load_cached_detections(run / "detections.json", h, w)
        info = sf.load_detections_info(run / sf.DETECTIONS_INFO)
        chosen = DetectionLabels(info["labels"].get("labels") or list(DEFAULT_LABELS),
                                 str(info["labels"].get("source", "cached")), list(info["labels"].get("notes", [])),
                                 list(info["labels"].get("vlm_names", [])))
        found_again = {int(i): n for i, n in info["second_look"].items() if i.isdigit() and int(i) < len(raw)}
        detector_notes = info["detector_notes"]
        computed["detections"] = "cached"
    else:
        backend = backends.detection_backend(settings, secrets, inp.det_in)  # fails before any VLM call
        chosen = steps.choose_labels(rgb, inp.given, inp.lib, inp.det_in, settings, secrets)
        raw = backend.detect(rgb, chosen.labels, image_path=str(inp.image.path), depth=depth, ctx=ctx)
        det_backend = backend.name
        sf.check_detections(raw, f"the detections file {inp.det_in}" if inp.det_in else f"the {det_backend} detector",
                            from_file=inp.det_in is not None)
        detector_notes = list(getattr(backend, "notes", []) or [])
        found_again = {}
        detector = None if inp.det_in else backend
        computed["detections"] = "computed"
    notes.extend(chosen.notes)
    notes.extend(detector_notes)
    return _observation(txn, inp, raw, det_backend, chosen, found_again, detector, detector_notes, depth, report,
                        computed, notes, settings, secrets, step, ctx)


def _observation(txn: Transaction, inp: _Inputs, raw: list[RawDetection], det_backend: str, chosen: DetectionLabels,
                 found_again: dict[int, str], detector: Any, detector_notes: list[str], depth: np.ndarray,
                 report: Any, computed: dict[str, str], notes: list[str], settings: Settings, secrets: Secrets,
                 step: _Progress, ctx: Any) -> Observation:
    """Room geometry, masks, 3D boxes and the scene graph, staged as the observation stage.

    ``detector`` is the backend when detections were computed here (then the second look runs and
    ``detections.json`` is staged with what it found); None when they came from a file or the cache.
    """
    rgb, k, labels = inp.image.rgb, inp.k, chosen.labels
    h, w = rgb.shape[:2]
    as_detected = [replace(d) for d in raw]  # what detections.json keeps: before masks are filled in here
    second = {id(raw[i]): note for i, note in found_again.items()}
    step(0.55, "room geometry")
    valid = float(np.isfinite(depth).mean()) if depth.size else 0.0
    if valid < 0.05:
        notes.append(f"only {100 * valid:.1f}% of the depth map holds valid depth; planes and 3D boxes are guesses "
                     "or missing.")
    openings_raw = [d for d in raw if opening_kind(d.label)]
    for d in openings_raw:  # a window's depth is what is seen through it: its box is the better mask
        if d.mask is None:
            d.mask, d.mask_source = box_mask(d.box, (h, w)), sf.OPENING_BOX
    floor_mask = _union([d.mask for d in raw if d.label in FLOOR_LABELS and d.mask is not None], h, w)
    object_mask = _union([d.mask for d in raw if d.label not in FLOOR_LABELS + ROOM_SURFACE_LABELS
                          and d.mask is not None], h, w)
    room = estimate_room(depth, k, floor_mask=floor_mask, exclude_mask=object_mask,
                         object_boxes=[(d.label, d.box) for d in raw if d.label not in ROOM_SURFACE_LABELS + FLOOR_LABELS])
    notes.extend(room.notes)
    step(0.65, "masks")
    _segment(rgb, depth, k, room, [d for d in raw if d.mask is None], raw)
    objects_raw = [d for d in raw if d.label not in ROOM_SURFACE_LABELS and not opening_kind(d.label)]
    kept = suppress_duplicates(objects_raw)
    duplicates = len(objects_raw) - len(kept)
    if duplicates:
        notes.append(f"{duplicates} duplicate detection(s) dropped (the same object under another label or box).")
    step(0.75, "3D boxes")
    ids = sf.object_ids(kept)
    extended: dict[str, str] = {}
    priors = inp.lib.size_priors()
    items = _items(kept, ids, depth, k, room, second, extended, priors)
    step(0.85, "scene graph")
    vlm = backends.vlm_backend(settings, secrets)
    answer = None
    if vlm is not None and items:
        answer = vlm.describe(rgb, [{"id": it.id, "label": it.label, "box": list(it.detection.box),
                                     "size": list(it.box.size) if it.box else None} for it in items], labels)
    new: list[RawDetection] = []
    if detector is not None:
        step(0.87, "second look")
        hits = steps.look_again(rgb, depth, k, room, detector, labels, kept, answer, str(inp.image.path), ctx)
        notes.extend(n for n in (getattr(detector, "notes", []) or []) if n not in detector_notes)
        new = [hit.detection for hit in hits]
        as_detected += [replace(d) for d in new]
        for hit in hits:
            second[id(hit.detection)] = hit.note
        if new:
            _segment(rgb, depth, k, room, [d for d in new if d.mask is None], kept + new)
            notes.append(f"{len(new)} object(s) found on a second look: " + ", ".join(d.label for d in new))
    all_ids = sf.object_ids(kept + new + openings_raw)  # one namespace; the first ids are unchanged
    new_ids, opening_ids = all_ids[len(kept):len(kept) + len(new)], all_ids[len(kept) + len(new):]
    items += _items(new, new_ids, depth, k, room, second, extended, priors)
    kept, ids = kept + new, ids + new_ids
    graph = build_scene_graph(items, room.planes, answer,
                              camera_xy=(float(room.world_from_camera[0, 3]), float(room.world_from_camera[1, 3])))
    notes.extend(apply_verdicts(graph, answer, inp.lib.verdict_size_prior()))
    notes.extend(steps.check_groups(graph, rgb, {oid: d.mask for oid, d in zip(ids, kept)}, settings, answer))
    graph.objects.extend(steps.opening_objects(openings_raw, opening_ids, k, room))

    step(0.92, "writing the run folder")
    if computed["detections"] == "computed":  # the detections stage, with what a second look found
        _stage_detections(txn, inp.keys["detections"], as_detected, det_backend, chosen, detector_notes,
                          {i: second[id(d)] for i, d in enumerate(raw + new) if id(d) in second})
    masks_dir = txn.folder("masks")
    mask_files = []
    shown = list(zip(ids, kept)) + list(zip(opening_ids, openings_raw))
    for oid, d in shown:
        write_mask_png(masks_dir / f"{oid}.png", d.mask)
        mask_files.append(f"masks/{oid}.png")
    camera = Camera(k.fx, k.fy, k.cx, k.cy, w, h, room.world_from_camera.tolist())
    provenance = {
        "image": {"source": str(Path(inp.image_path).resolve()), "sha256": inp.image.sha256},
        "camera": k.source,
        "depth": f"file {inp.depth_in}" if inp.depth_in else f"depth-anything ({settings.depth.model})",
        "detection": det_backend, "labels": labels, "labels_chosen": chosen.provenance(),
        "masks": {src: sum(1 for d in kept if d.mask_source == src) for src in {d.mask_source for d in kept}},
        "duplicates_removed": duplicates, "second_look": sum(1 for d in kept if id(d) in second),
        "floor": room.floor_source, "camera_height_m": room.camera_height,
        "vlm": f"claude ({settings.vlm.model}), {answer.calls} call(s)" if answer else
               "none: no ANTHROPIC_API_KEY, scene graph from geometry alone",
        "scene_graph": graph.source, "notes": room.notes,
        "openings": openings_summary(graph.objects),
        "boxes_extended": extended,
        "stages": {**computed, "observation": "computed"},
    }
    if report is not None:
        provenance["depth_report"] = report.to_dict()
    obs = Observation("image.png", camera, room.planes, graph, "depth.npy", provenance, notes=list(notes))
    obs = _refine_sizes(obs, rgb, priors, settings, secrets)
    obs.save(txn.file("observation.json"))
    overlays.save_depth_colour(txn.file("depth_colour.png"), depth)
    overlays.save_masks_overlay(txn.file("masks_overlay.png"), rgb, [(oid, d.mask, d.box) for oid, d in shown])
    overlays.save_planes_overlay(txn.file("planes_overlay.png"), rgb, room.label_map)
    txn.put("observation", inp.keys["observation"], ["observation.json", *OVERLAYS, *mask_files])
    return obs


def _stage_detections(txn: Transaction, key: str, dets: list[RawDetection], backend: str, chosen: DetectionLabels,
                      detector_notes: list[str], found_again: dict[int, str]) -> None:
    """detections.json (as detected, before masks were filled in) and its side file, as the detections stage."""
    save_cached_detections(txn.file("detections.json"), dets, backend)
    sf.save_detections_info(txn.file(sf.DETECTIONS_INFO), {
        "labels": chosen.provenance(), "detector_notes": detector_notes,
        "second_look": {str(i): note for i, note in sorted(found_again.items())}})
    txn.put("detections", key, ["detections.json", sf.DETECTIONS_INFO])


def _segment(rgb: np.ndarray, depth: np.ndarray, k: Intrinsics, room: RoomEstimate, box_only: list[RawDetection],
             others: list[RawDetection]) -> None:
    """Masks for box-only detections, all competing for the depth regions at once; masks already given are taken."""
    if not box_only:
        return
    h, w = rgb.shape[:2]
    taken = _union([d.mask for d in others if d.mask is not None and d.label not in FLOOR_LABELS
                    and d.mask_source != sf.OPENING_BOX], h, w)  # a window's box is no claim on what stands before it
    taken = np.zeros((h, w), bool) if taken is None else taken
    masks = segment_boxes(rgb, depth, [d.box for d in box_only], plane_distance_map(depth, k, room), exclude=taken,
                          focal_px=k.fx)
    for det, mask in zip(box_only, masks):
        det.mask, det.mask_source = mask, sf.segmentation_source(mask, det.box, taken)


def _items(dets: list[RawDetection], ids: list[str], depth: np.ndarray, k: Intrinsics, room: RoomEstimate,
           second: dict[int, str], extended: dict[str, str], priors: Any = None) -> list[Item]:
    """One scene-graph item per detection: its 3D box and the notes on where its mask and box came from.

    ``second``: notes of detections found on a second look (by ``id()``); ``extended`` receives the
    ids of boxes extended down to a support (for the provenance)."""
    from .measure import measure_objects  # amodal boxes: class priors, floor-standing classes, plausible supports

    boxes = measure_objects([(oid, d.label, d.mask) for oid, d in zip(ids, dets)], depth, k, room, priors=priors)
    items = []
    for oid, d in zip(ids, dets):
        ob = boxes[oid]
        mine = []
        if id(d) in second:
            mine.append(second[id(d)])
        if d.mask_source in sf.MASK_NOTES:
            mine.append(sf.MASK_NOTES[d.mask_source])
        if ob is None:
            mine.append(f"no 3D box: too few pixels of its mask have valid depth; confidence is the detection "
                        f"score × {NO_BOX_CONFIDENCE}")
        else:
            mine.extend(ob.notes)
            if ob.extended_to:
                extended[oid] = ob.extended_to
        items.append(Item(oid, d.label, sf.to_detection(d, oid), ob.box if ob else None,
                          round(float(d.score) * (ob.confidence if ob else NO_BOX_CONFIDENCE), 4), mine))
    return items


def _refine_sizes(obs: Observation, rgb: np.ndarray, priors: Any, settings: Settings, secrets: Secrets) -> Observation:
    """The paper's size step: with a key, the VLM gives floor objects' real width and depth (used only when
    plausible for the class, with a note either way); without one, the class priors already did this job."""
    from ..library.priors import default_priors
    from .size_refine import refine_sizes

    refined, more = refine_sizes(obs, rgb, priors or default_priors(), settings.vlm, secrets)
    refined.notes.extend(more)
    return refined


def _union(masks: list[np.ndarray], h: int, w: int) -> np.ndarray | None:
    if not masks:
        return None
    out = np.zeros((h, w), bool)
    for m in masks:
        out |= m
    return out
