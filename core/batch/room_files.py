"""The dataset files of one room from its render passes: depth view, instance segmentation, box overlay.

Why here and not in the Blender child: Blender's own Python has no imaging library, and these
are plain array work. Input is what ``render_passes`` writes (``rgb.png``, ``depth.npy``,
``masks/<object_id>.png``); output follows the published Imaginarium dataset's naming.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _read_mask(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def instance_map(mask_paths: dict[str, Path], shape: tuple[int, int]) -> tuple[np.ndarray, dict[str, int]]:
    """One uint16 image of instance ids (0 = room/background) and the id of each object, in name order."""
    ids = np.zeros(shape, np.uint16)
    table: dict[str, int] = {}
    for number, object_id in enumerate(sorted(mask_paths), 1):
        mask = _read_mask(mask_paths[object_id])
        if mask.shape != shape:
            continue
        ids[mask] = number
        table[object_id] = number
    return ids, table


def depth_visualisation(depth: np.ndarray) -> np.ndarray:
    """Depth as an 8-bit colour image (near = warm, far = cool); pixels without depth are black."""
    import cv2

    valid = np.isfinite(depth) & (depth > 0)
    out = np.zeros(depth.shape + (3,), np.uint8)
    if valid.any():
        lo, hi = np.percentile(depth[valid], [1, 99])
        scaled = np.clip((hi - depth) / max(hi - lo, 1e-6), 0, 1)
        colour = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1]
        out[valid] = colour[valid]
    return out


def boxes_from_instances(ids: np.ndarray, table: dict[str, int]) -> dict[str, tuple[int, int, int, int]]:
    """Tight 2D boxes [x0, y0, x1, y1) of every visible instance."""
    out = {}
    for object_id, number in table.items():
        ys, xs = np.nonzero(ids == number)
        if len(xs):
            out[object_id] = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return out


def box_overlay(rgb: np.ndarray, boxes: dict[str, tuple[int, int, int, int]], labels: dict[str, str]) -> np.ndarray:
    """The render with each object's 2D box and label drawn on it."""
    from PIL import Image, ImageDraw

    im = Image.fromarray(rgb[..., :3].astype(np.uint8))
    draw = ImageDraw.Draw(im)
    palette = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
               (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]
    for i, (object_id, (x0, y0, x1, y1)) in enumerate(sorted(boxes.items())):
        colour = palette[i % len(palette)]
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=colour, width=2)
        draw.text((x0 + 3, y0 + 2), labels.get(object_id, object_id), fill=colour)
    return np.asarray(im)


def write_room_images(passes_dir: Path, room_dir: Path, name: str, labels: dict[str, str]) -> dict[str, int]:
    """Write ``<name>.png``, ``<name>_depth.npy``, ``<name>_depth.png``, ``<name>_segmentation.png`` and
    ``<name>_bbox_overlay.png`` into ``room_dir``; returns the instance id of each object."""
    from PIL import Image

    with Image.open(passes_dir / "rgb.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    depth = np.load(passes_dir / "depth.npy").astype(np.float32)
    masks = {p.stem: p for p in sorted((passes_dir / "masks").glob("*.png"))}
    ids, table = instance_map(masks, depth.shape)
    Image.fromarray(rgb).save(room_dir / f"{name}.png")
    np.save(room_dir / f"{name}_depth.npy", depth)
    Image.fromarray(depth_visualisation(depth)).save(room_dir / f"{name}_depth.png")
    Image.fromarray(ids).save(room_dir / f"{name}_segmentation.png")
    Image.fromarray(box_overlay(rgb, boxes_from_instances(ids, table), labels)).save(room_dir / f"{name}_bbox_overlay.png")
    return table
