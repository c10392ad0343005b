"""Benchmark checked depth reading on the SUN RGB-D frames in /work/shared/realdata; prints JSON.

What it measures, per frame: the units detected, the valid fraction, flying pixels removed, the
camera height the room fit finds (read plainly, a raw SUN RGB-D PNG puts the camera about 10 m
up), and the time to read. On a labelled frame it also thins the depth to ~10 % and scores the
image-guided filling against the held-out readings, next to a colour-blind nearest-reading fill.
Usage: python scripts/bench_depth_io.py [--data /work/shared/realdata] [--keep 0.15]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scripts._package import load as _load_package  # noqa: E402
_load_package()  # the repository as package `imaginarium`: one import identity with the add-on

from imaginarium.core.geometry.camera import Intrinsics  # noqa: E402
from imaginarium.core.geometry.room import estimate_room  # noqa: E402
from imaginarium.core.perception.depth_io import read_depth  # noqa: E402


def _raw_frames(data: Path) -> list[dict]:
    from PIL import Image

    out = []
    for folder in sorted(data.glob("unlabelled_*")):
        rgb = np.asarray(Image.open(folder / "image.jpg").convert("RGB"))
        kk = np.loadtxt(folder / "intrinsics_sunrgbd.txt")
        h, w = rgb.shape[:2]
        k = Intrinsics(kk[0, 0], kk[1, 1], kk[0, 2], kk[1, 2], w, h, "sunrgbd")
        t0 = time.process_time()
        depth, report = read_depth(folder / "depth_sunrgbd_raw.png", w, h, rgb=rgb, focal_px=k.fx)
        seconds = time.process_time() - t0
        raw = np.asarray(Image.open(folder / "depth_sunrgbd_raw.png")).astype(np.float32) / 1000.0
        raw[raw <= 0] = np.nan
        out.append({"frame": folder.name, "units": report.units_assumed,
                    "valid_fraction": round(report.valid_fraction, 4), "flying_removed": round(report.flying_removed, 4),
                    "camera_height_m": round(float(estimate_room(depth, k).camera_height), 3),
                    "camera_height_m_read_plainly": round(float(estimate_room(raw, k).camera_height), 3),
                    "read_cpu_s": round(seconds, 3)})
    return out


def _densify(data: Path, keep: float) -> dict:
    from PIL import Image
    from scipy import ndimage

    folder = data / "sunrgbd_000002"
    rgb = np.asarray(Image.open(folder / "image.png").convert("RGB"))
    truth = np.load(folder / "depth.npy")
    kept = (truth > 0) & (np.random.default_rng(0).random(truth.shape) < keep)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "d.npy", np.where(kept, truth, 0).astype(np.float32))
        t0 = time.process_time()
        depth, report = read_depth(Path(tmp) / "d.npy", truth.shape[1], truth.shape[0], rgb=rgb, focal_px=529.5,
                                   clean=False)
        seconds = time.process_time() - t0
    held = (truth > 0) & ~kept
    err = np.abs(depth[held] - truth[held]) / truth[held]
    rows, cols = ndimage.distance_transform_edt(~kept, return_distances=False, return_indices=True)
    near = np.abs(truth[rows, cols][held] - truth[held]) / truth[held]
    return {"frame": folder.name, "valid_fraction": round(report.valid_fraction, 4),
            "guided_rel_error_median": round(float(np.median(err)), 4),
            "guided_rel_error_p90": round(float(np.percentile(err, 90)), 4),
            "nearest_rel_error_median": round(float(np.median(near)), 4),
            "nearest_rel_error_p90": round(float(np.percentile(near, 90)), 4), "read_and_fill_cpu_s": round(seconds, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/realdata"))
    parser.add_argument("--keep", type=float, default=0.15, help="Fraction of valid readings kept for the fill test.")
    args = parser.parse_args()
    print(json.dumps({"raw_png": _raw_frames(args.data), "densify": _densify(args.data, args.keep)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
