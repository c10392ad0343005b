"""Benchmark room geometry (and object boxes) on synthetic depth maps; prints JSON.

Target: the room fit on a 1024×1024 depth map in ≤ 1 s on the 2-core development machine.
Usage: python scripts/bench_geometry.py [--sizes 256 512 1024] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

from imaginarium.core.geometry.boxes import object_box  # noqa: E402
from imaginarium.core.geometry.camera import intrinsics_from_fov  # noqa: E402
from imaginarium.core.geometry.room import estimate_room  # noqa: E402
from imaginarium.testkit.synthetic_scenes import SyntheticBox, SyntheticRoom, look_pose, render_depth  # noqa: E402


def _bench_pipeline() -> dict:
    """The whole perceive stage at 1024x1024 with the user's own depth and detections (no models)."""
    import tempfile

    from imaginarium.core.perception.pipeline import perceive
    from tests.perception.scenes import write_scene

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_scene(folder, width=1024, height=1024, fov=70.0)
        timings = {}
        for name in ("detections.json", "detections_boxes.json"):
            t0 = time.perf_counter()
            obs = perceive(folder / "image.png", folder / ("run_" + name), depth_path=folder / "depth.npy",
                           detections_path=folder / name, fov_deg=70.0)
            timings[name] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        perceive(folder / "image.png", folder / "run_detections.json", depth_path=folder / "depth.npy",
                 detections_path=folder / "detections.json", fov_deg=70.0)
        cached = round(time.perf_counter() - t0, 3)
    return {"size": "pipeline 1024x1024", "perceive_with_masks_s": timings["detections.json"],
            "perceive_boxes_only_s": timings["detections_boxes.json"], "perceive_cached_s": cached,
            "objects": len(obs.graph.objects)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    room = SyntheticRoom(boxes=[SyntheticBox((0.3, 2.2, 0.375), (1.2, 0.7, 0.75)),
                                SyntheticBox((-1.6, 3.7, 0.9), (0.8, 0.6, 1.8)),
                                SyntheticBox((1.0, 1.5, 0.3), (0.5, 0.5, 0.6), 0.4)])
    pose = look_pose((0.0, -0.6, 1.5), yaw_deg=12.0, pitch_deg=-18.0)
    results = []
    for size in tqdm(args.sizes, desc="sizes", file=sys.stderr):
        k = intrinsics_from_fov(size, size, 70.0)
        depth, _, obj = render_depth(room, k, pose)
        depth = depth * (1 + np.random.default_rng(0).normal(0, 0.005, depth.shape)).astype(np.float32)
        room_t, box_t = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            est = estimate_room(depth, k, exclude_mask=obj >= 0)
            room_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(len(room.boxes)):
                object_box(obj == i, depth, k, est.world_from_camera)
            box_t.append(time.perf_counter() - t0)
        results.append({"size": f"{size}x{size}", "room_s_median": round(float(np.median(room_t)), 4),
                        "room_s_max": round(float(np.max(room_t)), 4),
                        "boxes_s_median": round(float(np.median(box_t)), 4), "objects": len(room.boxes),
                        "planes": [p.id for p in est.planes], "camera_height_m": round(est.camera_height, 3)})
    results.append(_bench_pipeline())
    big = [r for r in results if r["size"] == "1024x1024"]
    print(json.dumps({"benchmark": "geometry", "results": results,
                      "target_room_1024_s": 1.0,
                      "meets_target": bool(big and big[0]["room_s_max"] <= 1.0) if big else None}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
