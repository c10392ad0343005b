"""The offline demo: generated room → rendered "photo" → the pipeline (perceive → match → solve) → build, metrics.

Run it with ``make demo`` (or ``.venv/bin/python scripts/demo.py --out out/demo``). It needs no
weights and no network. What stands in for what is said plainly in the output:

* the reference image is a Cycles render of a room laid out by the seeded room generator from
  the starter library (the ground truth);
* its depth map and instance masks come from the same render (ray-cast), standing in for the
  depth model and the detector;
* everything after that is the real pipeline, called as one function
  (``core.pipeline.image_to_room``: ``perceive`` with your own depth + detections and a scene
  graph from geometry alone, ``match`` with the classical embedder when DINOv2 weights are
  absent, the layout solver), then the scene builder.

Writes ``scene.blend``, ``reference.png``, ``layout.png``, ``side_by_side.png``, ``metrics.json``
and the run folder ``run/`` under ``--out``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _package  # noqa: E402

ROOT = _package.ROOT
STANDIN_NOTE = ("Offline demo: the reference image, its depth and its instance masks are Blender renders of a "
                "generated room; they stand in for the text-to-image, depth and detection models. The scene graph "
                "comes from geometry alone (no VLM key is used). Everything after that is the real pipeline.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="out/demo", help="Output folder (default out/demo).")
    p.add_argument("--library", default=str(ROOT / "asset_data" / "starter_library"),
                   help="Asset library; the starter library is generated there if missing.")
    p.add_argument("--seed", type=int, default=0, help="Room generator seed.")
    p.add_argument("--kind", default="bedroom", choices=["bedroom", "living_room"])
    p.add_argument("--max-objects", type=int, default=None, help="Cap the generated room's object count.")
    p.add_argument("--width", type=int, default=480)
    p.add_argument("--height", type=int, default=360)
    p.add_argument("--samples", type=int, default=8, help="Cycles samples per pixel.")
    return p.parse_args(argv)


class Steps:
    """Numbered progress lines with timings (the demo is a script: plain prints, no bar needed)."""

    def __init__(self, total: int) -> None:
        self.total, self.n, self.t0, self.last = total, 0, time.monotonic(), time.monotonic()

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if self.n:
            print(f"      done in {now - self.last:.1f} s", flush=True)
        self.n += 1
        self.last = now
        print(f"[{self.n}/{self.total}] {message}", flush=True)

    def finish(self) -> float:
        now = time.monotonic()
        print(f"      done in {now - self.last:.1f} s", flush=True)
        return now - self.t0


def ensure_library(library: Path) -> None:
    """Generate the starter library, its derived data and its template embeddings if they are missing
    (each step skips what exists; the same three steps as `make library`)."""
    if not (library / "imaginarium_asset_info.csv").is_file():
        _run([sys.executable, str(ROOT / "scripts" / "make_starter_library.py"), "--out", str(library)])
    _run([sys.executable, str(ROOT / "scripts" / "build_library.py"), "--library", str(library)])
    _run([sys.executable, "-m", "core.matching.embed_library", str(library)])


def _run(cmd: list[str]) -> None:
    # the child writes where sys.stdout points now (bench_synthetic sends it to stderr to keep stdout JSON)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=sys.stdout)
    if proc.returncode != 0:
        raise SystemExit(f"demo: {' '.join(cmd[1:2])} failed (exit {proc.returncode}); see its output above.")


def scaled_camera(cam, width: int, height: int):
    """The generator's camera at another resolution (same field of view)."""
    sx, sy = width / cam.width, height / cam.height
    return type(cam)(cam.fx * sx, cam.fy * sy, cam.cx * sx, cam.cy * sy, width, height, cam.world_from_camera)


def write_detections(masks: dict[str, Path], labels: dict[str, str], path: Path) -> dict[str, list[int]]:
    """The instance masks as a bring-your-own detections file (what a detector would have given);
    returns each ground-truth object's box, for pairing perceived objects with the ground truth."""
    import bpy

    entries, gt_boxes = [], {}
    for object_id, mask_path in sorted(masks.items()):
        img = bpy.data.images.load(str(mask_path))
        w, h = img.size
        px = np.asarray(img.pixels[:], dtype=np.float32).reshape(h, w, -1)[::-1, :, 0] > 0.5
        bpy.data.images.remove(img)
        ys, xs = np.nonzero(px)
        if len(xs) < 20:  # a sliver at the image edge: a detector would not report it either
            continue
        box = [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
        entries.append({"label": labels[object_id], "score": 1.0, "mask": str(mask_path.relative_to(path.parent)),
                        "box": box})
        gt_boxes[object_id] = box
    path.write_text(json.dumps(entries, indent=1))
    return gt_boxes


def print_table(metrics: dict) -> None:
    rows = [("ground-truth objects", "ground_truth_objects"), ("objects perceived", "detected_objects"),
            ("3D IoU (mean over GT)", "iou_3d"), ("centre error (m)", "centre_error_m"),
            ("yaw error (deg)", "yaw_error_deg"), ("class accuracy (over GT)", "class_accuracy"),
            ("asset accuracy (over GT)", "asset_accuracy"), ("colliding pairs", "colliding_pairs"),
            ("objects inside others", "objects_inside_others"), ("floating objects", "floating_objects"),
            ("outside the room", "objects_outside_room"), ("wall angle error (deg)", "wall_angle_deg"),
            ("render / photo median luminance", "render_luminance_ratio")]
    print("\n  metric                     value")
    for name, key in rows:
        if key in metrics:
            v = metrics[key]
            print(f"  {name:<26} {v:.3f}" if isinstance(v, float) else f"  {name:<26} {v}")


class StageLines:
    """The pipeline's progress as one indented line per stage (a JobContext stand-in for a script)."""

    def __init__(self) -> None:
        self.stage = ""

    def progress(self, fraction: float, message: str = "") -> None:
        stage = message.split(":", 1)[0]
        if stage != self.stage:
            self.stage = stage
            print(f"      {stage}", flush=True)

    def log(self, message: str, level: str = "info") -> None:
        """Nothing: the stages' warnings are notes, printed after the run."""

    def check_cancelled(self) -> None:
        """A script is stopped with Ctrl+C."""


def run_room(library: Path, out: Path, *, seed: int, kind: str, max_objects: int | None, width: int,
             height: int, samples: int, steps: Callable[[str], None] = lambda message: None,
             render_result: bool = True) -> dict:
    """One generated room through the whole path; returns its metrics (also in ``out/metrics.json``).

    Leaves the built scene open in bpy (the caller may save it). Used by the demo and bench_synthetic.
    """
    import bpy

    _package.load()  # the repository as package `imaginarium` (the add-on's relative imports need it)
    from imaginarium.core.cli.room import print_run_notes
    from imaginarium.core.config import Secrets, Settings
    from imaginarium.core.layout.association import align_to_camera, pair_by_boxes, relabel
    from imaginarium.core.layout.metrics import evaluate
    from imaginarium.core.layout.problem import problem_from_layout
    from imaginarium.core.layout.room_generator import generate_room
    from imaginarium.core.library.catalogue import load_catalogue
    from imaginarium.core.library.textures import load_textures
    from imaginarium.core.pipeline import image_to_room, library_proxies
    from imaginarium.core.schema import Observation
    from imaginarium.imaginarium_addon import layout_session
    from imaginarium.imaginarium_addon.render_passes import render_passes
    from imaginarium.imaginarium_addon.scene_builder import build_layout, read_layout

    out.mkdir(parents=True, exist_ok=True)
    steps(f"generating a {kind.replace('_', ' ')} (seed {seed}) as ground truth")
    catalogue = load_catalogue(library)
    gt_layout, gt_graph = generate_room(catalogue, seed, kind, max_objects=max_objects)
    gt_layout.camera = scaled_camera(gt_layout.camera, width, height)
    gt_layout.run_id = "demo-ground-truth"
    (out / "ground_truth_layout.json").write_text(gt_layout.to_json())
    bpy.ops.wm.read_homefile(use_empty=True)
    ref_coll = build_layout(gt_layout, catalogue, run_id=gt_layout.run_id, textures=load_textures(library))

    steps(f"rendering the reference image, depth and masks ({width}x{height}, {samples} samples)")
    passes = render_passes(ref_coll, out / "reference_passes", samples=samples)
    shutil.copyfile(passes.rgb, out / "reference.png")
    labels = {o.id: o.label for o in gt_graph.objects}
    gt_boxes = write_detections(passes.masks, labels, out / "reference_passes" / "detections.json")

    steps(f"the pipeline: perceive ({len(gt_boxes)} objects, geometry-only scene graph) → match → solve")
    cam = passes.camera or gt_layout.camera
    run_dir = out / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    layout = image_to_room(out / "reference.png", run_dir, library, Settings(), Secrets(),
                           depth=out / "reference_passes" / "depth.npy", intrinsics=(cam.fx, cam.fy, cam.cx, cam.cy),
                           detections=out / "reference_passes" / "detections.json", ctx=StageLines())
    for line in _captured(print_run_notes, run_dir, layout):
        print(f"      {line}")
    observation = Observation.load(run_dir / "observation.json")

    steps("building the layout into a new collection")
    coll = layout_session.build_run(run_dir, library, layout)
    ref_coll.hide_render = True
    ref_coll.hide_viewport = True

    preview = None
    if render_result:
        steps("rendering the result from the reference camera, lit by the build's own lights")
        from imaginarium.imaginarium_addon.render_preview import render_preview

        preview = render_preview(coll, out / "layout.png", width=width, samples=max(samples, 4))
        if preview.side_by_side_path is not None:
            shutil.move(str(preview.side_by_side_path), out / "side_by_side.png")

    steps("metrics against the ground truth")
    result = relabel(read_layout(coll), pair_by_boxes(observation, gt_boxes))
    result = align_to_camera(result, observation.camera, gt_layout.camera)
    proxies = library_proxies(library)  # real proxies: symmetry-aware yaw needs true shapes
    metrics = evaluate(result, problem_from_layout(result, catalogue, proxies), gt_layout,
                       gt_source=problem_from_layout(gt_layout, catalogue, proxies))
    metrics["detected_objects"] = len(observation.graph.objects)
    metrics["ground_truth_objects"] = len(gt_layout.placements)
    if preview is not None and preview.ratio is not None:  # the render's median luminance over the photo's
        metrics["render_luminance_ratio"] = round(preview.ratio, 3)
    (out / "metrics.json").write_text(json.dumps({"note": STANDIN_NOTE, "metrics": metrics}, indent=2))
    return metrics


def _captured(fn: Callable[..., None], *args: object) -> list[str]:
    """The lines ``fn`` prints, to indent them under the step that ran it."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        fn(*args)
    return buffer.getvalue().splitlines()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out, library = Path(args.out).resolve(), Path(args.library).resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(STANDIN_NOTE, flush=True)
    steps = Steps(7)
    steps("asset library (generated and built only if missing)")
    ensure_library(library)
    metrics = run_room(library, out, seed=args.seed, kind=args.kind, max_objects=args.max_objects,
                       width=args.width, height=args.height, samples=args.samples, steps=steps)
    import bpy

    bpy.ops.wm.save_as_mainfile(filepath=str(out / "scene.blend"))
    total = steps.finish()
    print_table(metrics)
    print(f"\nWrote {out}/scene.blend, reference.png, layout.png, side_by_side.png, metrics.json "
          f"in {total:.0f} s.\n{STANDIN_NOTE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
