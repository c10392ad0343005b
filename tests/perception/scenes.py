"""Known synthetic rooms written as the files a user would bring: image, depth, detections."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from imaginarium.core.geometry.camera import intrinsics_from_fov
from imaginarium.testkit.synthetic_scenes import SyntheticBox, SyntheticRoom, look_pose, render_depth

SURFACE_RGB = {0: (150, 110, 70), 1: (235, 235, 230), 2: (200, 190, 170), 3: (190, 200, 175), 4: (205, 185, 180),
               5: (185, 190, 205)}
OBJECT_RGB = [(40, 60, 160), (160, 40, 40), (40, 140, 60), (200, 160, 30), (120, 40, 140)]


def bedroom() -> tuple[SyntheticRoom, list[str]]:
    """A table with a box on it, a cabinet against the back wall, two stools of one size (painted in
    different colours, so the look-alike check keeps them apart), a painting."""
    room = SyntheticRoom(x0=-2.5, x1=2.5, y0=-1.0, y1=4.0, height=2.7, boxes=[
        SyntheticBox((0.3, 2.2, 0.375), (1.2, 0.7, 0.75)),          # table
        SyntheticBox((0.3, 2.2, 0.85), (0.3, 0.3, 0.2)),            # box on the table
        SyntheticBox((-1.6, 3.7, 0.9), (0.8, 0.6, 1.8)),            # cabinet against wall y1
        SyntheticBox((0.0, 0.9, 0.225), (0.4, 0.4, 0.45)),          # stool
        SyntheticBox((-0.9, 1.4, 0.225), (0.4, 0.4, 0.45)),         # stool (same size)
        SyntheticBox((0.9, 3.97, 1.6), (0.8, 0.06, 0.5)),           # painting on wall y1
    ])
    return room, ["table", "box", "cabinet", "stool", "stool", "painting"]


def write_scene(folder: Path, width: int = 240, height: int = 180, fov: float = 70.0, noise: float = 0.0,
                seed: int = 0) -> dict:
    """Render the bedroom; write image.png, depth.npy, detections.json (RLE masks); return the truth."""
    room, labels = bedroom()
    k = intrinsics_from_fov(width, height, fov)
    pose = look_pose((0.0, -0.6, 1.5), yaw_deg=12.0, pitch_deg=-22.0)
    depth, surface, obj = render_depth(room, k, pose)
    rng = np.random.default_rng(seed)
    if noise:
        depth = depth * (1 + rng.normal(0, noise, depth.shape)).astype(np.float32)
    rgb = np.zeros((height, width, 3), np.uint8)
    for s, c in SURFACE_RGB.items():
        rgb[surface == s] = c
    for i in range(len(room.boxes)):
        rgb[obj == i] = OBJECT_RGB[i % len(OBJECT_RGB)]
    rgb = np.clip(rgb.astype(int) + rng.integers(-6, 7, rgb.shape), 0, 255).astype(np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(folder / "image.png")
    np.save(folder / "depth.npy", depth)
    dets = []
    for i, label in enumerate(labels):
        m = obj == i
        if not m.any():
            continue
        ys, xs = np.nonzero(m)
        from imaginarium.core.perception.masks import encode_rle

        dets.append({"label": label, "score": 0.9 - 0.01 * i,
                     "box": [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)],
                     "mask": encode_rle(m)})
    (folder / "detections.json").write_text(json.dumps(dets))
    boxes_only = [{k2: v for k2, v in d.items() if k2 != "mask"} for d in dets]
    (folder / "detections_boxes.json").write_text(json.dumps(boxes_only))
    return {"room": room, "labels": labels, "k": k, "pose": pose, "depth": depth, "obj": obj, "surface": surface,
            "hfov": fov, "camera_height": 1.5, "pitch_deg": -22.0}
