"""Seeded synthetic rooms through the pipeline; JSON with accuracy (over the objects in view and over all),
plausibility, and stage timings.

``.venv/bin/python scripts/bench_synthetic.py --rooms 8`` alternates bedrooms and living rooms (seeds
0..N-1). Each room is laid out by the seeded generator (the ground truth), rendered small with
Cycles together with its ray-cast depth and instance masks (they stand in for the depth model and
the detector, as in ``make demo``), and then goes through the real pipeline stage by stage —
``perceive`` (your own depth + detections), ``match``, ``fit``, ``solve`` — each timed.

``--realistic`` spoils the passes the way a real capture and a real detector would
(``scripts/_realistic.py``): a tilted, moved camera with a narrower lens that cuts furniture at the
frame, depth noise growing with distance and a smooth scale error, holes at depth edges and on
dark or shiny surfaces, flying pixels, masks eroded or dilated by a few pixels, jittered boxes and
the smallest object missed.

Metrics per room and their means: 3D IoU over the ground-truth objects **in view** (at least 20
pixels in the clean render; a missed one scores 0) and over **all** of them, centre and yaw errors
(yaw modulo each asset's symmetry), class and asset accuracy, collisions / floating / out-of-room
counts after solving, and the seconds of each stage. ``iou_in_view_as_fitted`` scores the fitted
poses themselves (before the solver's rules act on them), to tell the fit's errors from the
rules'. ``--no-fit`` skips the fit (the solver then starts from the observed boxes), for
comparison. Progress goes to stderr, the JSON to stdout.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # noqa: E402

KEYS = ("iou_in_view", "iou_in_view_as_fitted", "iou_3d", "centre_error_m", "yaw_error_deg", "class_accuracy", "asset_accuracy",
        "colliding_pairs", "objects_inside_others", "floating_objects", "objects_outside_room", "detected_objects",
        "in_view_objects", "ground_truth_objects", "fitted_objects", "perceive_s", "match_s", "fit_s", "solve_s",
        "pipeline_s")
MIN_PIXELS = 20


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rooms", type=int, default=8)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--library", default=str(demo.ROOT / "asset_data" / "starter_library"))
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--realistic", action="store_true", help="Degrade camera, depth, masks and boxes (see above).")
    p.add_argument("--no-fit", action="store_true", help="Skip the fit stage (solver starts from the boxes).")
    p.add_argument("--out", default=None, help="Keep each room's outputs here (default: a temporary folder).")
    args = p.parse_args(argv)
    library = Path(args.library).resolve()
    with contextlib.redirect_stdout(sys.stderr):  # progress to stderr; stdout carries only the JSON
        demo.ensure_library(library)
    rooms = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.out or tmp)
        for seed in range(args.first_seed, args.first_seed + args.rooms):
            kind = ("bedroom", "living_room")[seed % 2]
            t0 = time.monotonic()
            with contextlib.redirect_stdout(sys.stderr):
                metrics = run_room(library, base / f"room_{seed:03d}", seed=seed, kind=kind, width=args.width,
                                   height=args.height, samples=args.samples, realistic=args.realistic,
                                   fit=not args.no_fit)
            rooms.append({"seed": seed, "kind": kind, "seconds": round(time.monotonic() - t0, 2),
                          **{k: metrics.get(k) for k in KEYS}})
            print(f"room {seed}: in view {metrics.get('iou_in_view')}, all {metrics.get('iou_3d')}", file=sys.stderr)
    means = {}
    for k in KEYS:
        values = [r[k] for r in rooms if isinstance(r[k], (int, float)) and not math.isnan(r[k])]
        means[k] = round(sum(values) / len(values), 4) if values else None
    print(json.dumps({"benchmark": "synthetic_rooms", "rooms": args.rooms, "realistic": args.realistic,
                      "fit": not args.no_fit, "resolution": [args.width, args.height], "note": demo.STANDIN_NOTE,
                      "mean": means, "per_room": rooms}, indent=2))
    return 0


def run_room(library: Path, out: Path, *, seed: int, kind: str, width: int, height: int, samples: int,
             realistic: bool, fit: bool = True) -> dict:
    """One generated room: render, (degrade), perceive → match → fit → solve, metrics against the ground truth."""
    import bpy

    demo._package.load()
    from imaginarium.core import pipeline
    from imaginarium.core.config import Secrets, Settings
    from imaginarium.core.layout.association import align_to_camera, pair_by_boxes, relabel
    from imaginarium.core.layout.metrics import evaluate
    from imaginarium.core.layout.problem import problem_from_layout
    from imaginarium.core.layout.room_generator import generate_room
    from imaginarium.core.library.catalogue import load_catalogue
    from imaginarium.core.library.textures import load_textures
    from imaginarium.core.schema import CandidateSet, Observation
    from imaginarium.imaginarium_addon.render_passes import render_passes
    from imaginarium.imaginarium_addon.scene_builder import build_layout

    out.mkdir(parents=True, exist_ok=True)
    catalogue = load_catalogue(library)
    gt_layout, gt_graph = generate_room(catalogue, seed, kind)
    gt_layout.camera = demo.scaled_camera(gt_layout.camera, width, height)
    rng = np.random.default_rng(10_000 + seed)
    if realistic:
        import _realistic

        gt_layout.camera = _realistic.perturb_camera(gt_layout.camera, gt_layout.planes, rng)
    gt_layout.run_id = f"bench-ground-truth-{seed}"
    (out / "ground_truth_layout.json").write_text(gt_layout.to_json())
    bpy.ops.wm.read_homefile(use_empty=True)
    ref = build_layout(gt_layout, catalogue, run_id=gt_layout.run_id, textures=load_textures(library))
    passes = render_passes(ref, out / "passes", samples=samples)
    labels = {o.id: o.label for o in gt_graph.objects}
    gt_boxes = demo.write_detections(passes.masks, labels, out / "passes" / "detections.json")  # clean: in view
    depth_path, det_path = out / "passes" / "depth.npy", out / "passes" / "detections.json"
    notes: list[str] = []
    detected_boxes: dict[str, list[int]] = {}
    if realistic:
        depth_path, det_path, notes, detected_boxes = _degrade(out / "passes", passes, labels, gt_boxes, rng,
                                               passes.camera or gt_layout.camera)
    shutil.copyfile(passes.rgb, out / "reference.png")
    cam = passes.camera or gt_layout.camera
    run_dir = out / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    settings, secrets = Settings(), Secrets()
    times = {}
    t = time.perf_counter()
    observation = pipeline.perceive_stage(out / "reference.png", run_dir, settings, secrets, depth=depth_path,
                                          intrinsics=(cam.fx, cam.fy, cam.cx, cam.cy), detections=det_path,
                                          library_dir=library)
    times["perceive_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pipeline.match_stage(run_dir, library, settings, secrets)
    times["match_s"] = time.perf_counter() - t
    t = time.perf_counter()
    fitted = pipeline.fit_stage(run_dir, library, settings) if fit else CandidateSet.load(run_dir / "candidates.json")
    times["fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    layout = pipeline.solve_stage(run_dir, library, settings)
    times["solve_s"] = time.perf_counter() - t
    times["pipeline_s"] = sum(times.values())
    observation = Observation.load(run_dir / "observation.json")

    # which detection came from which object is known: pair by the boxes the pipeline was given (a jittered box
    # of a 6-pixel pendant lamp overlaps its clean box by less than half, and the lamp would count as missed)
    pairing = pair_by_boxes(observation, {**gt_boxes, **detected_boxes})
    result = align_to_camera(relabel(layout, pairing), observation.camera,
                             gt_layout.camera)
    proxies = pipeline.library_proxies(library)
    source = problem_from_layout(result, catalogue, proxies)
    gt_source = problem_from_layout(gt_layout, catalogue, proxies)
    metrics = evaluate(result, source, gt_layout, gt_source=gt_source)
    per_object = object_ious(result, source, gt_layout, gt_source)
    in_view = [oid for oid in gt_boxes if oid in per_object]
    metrics["iou_in_view"] = float(np.mean([per_object[o] for o in in_view])) if in_view else math.nan
    # diagnostic: the same objects where the fit put them, before the solver's rules moved them
    as_fitted = _as_fitted(layout, fitted)
    if as_fitted is not None:
        fit_result = align_to_camera(relabel(as_fitted, pairing), observation.camera,
                                     gt_layout.camera)
        fit_objects = object_ious(fit_result, problem_from_layout(fit_result, catalogue, proxies), gt_layout, gt_source)
        metrics["iou_in_view_as_fitted"] = float(np.mean([fit_objects[o] for o in in_view])) if in_view else math.nan
        metrics["iou_per_object_as_fitted"] = {o: round(v, 3) for o, v in sorted(fit_objects.items())}
    metrics["iou_per_object"] = {o: round(v, 3) for o, v in sorted(per_object.items())}
    metrics["in_view_objects"] = len(in_view)
    metrics["detected_objects"] = len(observation.graph.objects)
    metrics["ground_truth_objects"] = len(gt_layout.placements)
    metrics["fitted_objects"] = sum(1 for c in fitted.candidates if c.fit)
    metrics.update({k: round(v, 3) for k, v in times.items()})
    (out / "metrics.json").write_text(json.dumps({"realistic": realistic, "degradation_notes": notes,
                                                  "metrics": metrics}, indent=2))
    return metrics


def _as_fitted(layout, fitted):  # noqa: ANN001, ANN202 (Layout, CandidateSet)
    """The solved layout with every fitted object put back at its fitted pose and scale (None: nothing fitted)."""
    import dataclasses

    fits = {c.object_id: c.fit for c in fitted.candidates if c.fit}
    if not fits:
        return None
    placements = [dataclasses.replace(p, transform=fits[p.object_id]["transform"], scale=fits[p.object_id]["scale"])
                  if p.object_id in fits and fits[p.object_id]["asset_id"] == p.asset_id else p
                  for p in layout.placements]
    return dataclasses.replace(layout, placements=placements)


def object_ious(result, source, gt_layout, gt_source) -> dict[str, float]:  # noqa: ANN001 (layouts, problems)
    """3D IoU per ground-truth object id (0 when the object was not placed), boxes as the metrics module scores them."""
    from imaginarium.core.layout.metrics import box_iou, context, upright_box

    ctx, gt = context(result, source), context(gt_layout, gt_source)
    return {oid: box_iou(upright_box(ctx, oid), upright_box(gt, oid)) if oid in ctx.state.items else 0.0
            for oid in sorted(gt.state.items)}


def _degrade(folder: Path, passes, labels: dict[str, str], gt_boxes: dict[str, list[int]],  # noqa: ANN001
             rng: np.random.Generator, camera) -> tuple[Path, Path, list[str], dict[str, list[int]]]:  # noqa: ANN001
    """Realistic depth, masks and detections beside the clean ones: their paths, what was done, and the
    jittered box given for each object.

    A real detector is also asked for the floor (the pipeline's labels include it), so the floor's
    pixels become one more detection, spoilt like the others.
    """
    import _realistic
    from PIL import Image

    rgb = np.asarray(Image.open(passes.rgb).convert("RGB"))
    depth = _realistic.degrade_depth(np.load(passes.depth), rgb, rng)
    depth_path = folder / "depth_realistic.npy"
    np.save(depth_path, depth)
    masks_dir = folder / "masks_realistic"
    masks_dir.mkdir(exist_ok=True)
    masks = {oid: np.asarray(Image.open(passes.masks[oid]).convert("L")) > 127 for oid in gt_boxes}
    missed = _realistic.drop_smallest({oid: int(m.sum()) for oid, m in masks.items()})
    entries, notes = [], [f"missed the smallest object: {missed}"] if missed else []
    given: dict[str, list[int]] = {}
    for oid, mask in sorted(masks.items()):
        if oid == missed:
            continue
        bad = _realistic.degrade_mask(mask, rng)
        ys, xs = np.nonzero(bad)
        if len(xs) < MIN_PIXELS:
            continue
        path = masks_dir / f"{oid}.png"
        Image.fromarray(bad.astype(np.uint8) * 255).save(path)
        box = _realistic.jitter_box([int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1],
                                    bad.shape, rng)
        given[oid] = box
        entries.append({"label": labels[oid], "score": round(float(rng.uniform(0.5, 0.95)), 3),
                        "mask": str(path.relative_to(folder)), "box": box})
    floor = _realistic.degrade_mask(_realistic.floor_mask(np.load(passes.depth), camera, list(masks.values())), rng)
    if floor.sum() >= MIN_PIXELS:
        Image.fromarray(floor.astype(np.uint8) * 255).save(masks_dir / "floor.png")
        ys, xs = np.nonzero(floor)
        entries.append({"label": "floor", "score": 0.9, "mask": "masks_realistic/floor.png",
                        "box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]})
    else:
        notes.append("no floor in view")
    det_path = folder / "detections_realistic.json"
    det_path.write_text(json.dumps(entries, indent=1))
    unknown = float(np.mean(~np.isfinite(depth)))
    notes.append(f"depth unknown on {unknown:.1%} of pixels")
    return depth_path, det_path, notes, given


if __name__ == "__main__":
    raise SystemExit(main())
