"""Seeded synthetic rooms through the demo's path; JSON with mean accuracy and plausibility metrics.

``.venv/bin/python scripts/bench_synthetic.py --rooms 5`` alternates bedrooms and living rooms
(seeds 0..N-1), renders each small, and runs perceive → match → solve → build as ``make demo``
does (the renders stand in for the perception models). Prints one JSON object on stdout:
per-room metrics and their means — 3D IoU, class and asset accuracy, yaw error (modulo each
asset's symmetry), and collisions / floating / out-of-room counts after solving.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo  # noqa: E402

KEYS = ("iou_3d", "centre_error_m", "yaw_error_deg", "class_accuracy", "asset_accuracy", "colliding_pairs",
        "objects_inside_others", "floating_objects", "objects_outside_room", "detected_objects",
        "ground_truth_objects")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rooms", type=int, default=4)
    p.add_argument("--library", default=str(demo.ROOT / "asset_data" / "starter_library"))
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--out", default=None, help="Keep each room's outputs here (default: a temporary folder).")
    args = p.parse_args(argv)
    library = Path(args.library).resolve()
    with contextlib.redirect_stdout(sys.stderr):  # progress to stderr; stdout carries only the JSON
        demo.ensure_library(library)
    rooms = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.out or tmp)
        for seed in range(args.rooms):
            kind = ("bedroom", "living_room")[seed % 2]
            t0 = time.monotonic()
            with contextlib.redirect_stdout(sys.stderr):
                metrics = demo.run_room(library, base / f"room_{seed:03d}", seed=seed, kind=kind, max_objects=None,
                                        width=args.width, height=args.height, samples=args.samples,
                                        steps=lambda m, s=seed: print(f"room {s}: {m}", flush=True),
                                        render_result=False)
            rooms.append({"seed": seed, "kind": kind, "seconds": round(time.monotonic() - t0, 2),
                          **{k: metrics.get(k) for k in KEYS}})
    means = {}
    for k in KEYS:
        values = [r[k] for r in rooms if isinstance(r[k], (int, float)) and not math.isnan(r[k])]
        means[k] = round(sum(values) / len(values), 4) if values else None
    print(json.dumps({"benchmark": "synthetic_rooms", "rooms": args.rooms, "resolution": [args.width, args.height],
                      "note": demo.STANDIN_NOTE, "mean": means, "per_room": rooms}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
