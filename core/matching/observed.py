"""Read a run folder's perception output into what matching needs: image, depth, object masks.

Masks come as PNG files (``{"png": "masks/<id>.png"}``, relative to the run folder) or COCO
RLE; an object with only a box gets a box-shaped mask and a note, one with neither is left
out with a note — matching never guesses silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..schema import Observation, SceneObject
from .crops import read_mask, read_rgb


@dataclass
class ObservedObject:
    """One scene object with its full-image mask."""

    obj: SceneObject
    mask: np.ndarray

    @property
    def centroid(self) -> tuple[float, float]:
        ys, xs = np.nonzero(self.mask)
        return float(xs.mean()) + 0.5, float(ys.mean()) + 0.5


def resolve(run_dir: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else run_dir / p


def load_observation(run_dir: Path) -> Observation:
    path = run_dir / "observation.json"
    if not path.is_file():
        raise BadInputError(f"{path} does not exist.", "Run perception first: python -m core perceive IMAGE.")
    return Observation.load(path)


def load_image(run_dir: Path, obs: Observation) -> np.ndarray:
    return read_rgb(resolve(run_dir, obs.image_path))


def load_depth(run_dir: Path, obs: Observation) -> np.ndarray | None:
    """Depth in metres (float32 [H, W]) or None when the run has none; checked like perception's own cache."""
    from ..perception.depth_io import load_run_depth

    return load_run_depth(run_dir, obs)


def decode_mask(run_dir: Path, mask: dict, shape: tuple[int, int]) -> np.ndarray:
    """An object's mask from the run folder: its PNG, or its RLE decoded by perception's checked decoder."""
    if "png" in mask:
        return read_mask(resolve(run_dir, mask["png"]), shape)
    from ..perception.masks import decode_rle

    return decode_rle(mask["rle"], shape[0], shape[1], "Detection.mask.rle")


def observed_objects(run_dir: Path, obs: Observation, shape: tuple[int, int]) -> tuple[list[ObservedObject], list[str]]:
    """Objects with a usable mask, and notes about the others."""
    out: list[ObservedObject] = []
    notes: list[str] = []
    for o in obs.graph.objects:
        det = o.detection
        if det is None:
            notes.append(f"{o.id}: no detection in the image; not matched.")
            continue
        if det.mask is not None:
            m = decode_mask(run_dir, det.mask, shape)
        else:
            m = np.zeros(shape, bool)
            x0, y0, x1, y1 = (int(round(v)) for v in det.box)
            m[max(y0, 0):min(y1, shape[0]), max(x0, 0):min(x1, shape[1])] = True
            notes.append(f"{o.id}: no mask; matched on its detection box.")
        if not m.any():
            notes.append(f"{o.id}: empty mask; not matched.")
            continue
        out.append(ObservedObject(o, m))
    return out, notes
