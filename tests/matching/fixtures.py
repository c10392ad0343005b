"""Test scenes for matching: primitive assets, their template views, rendered rooms with known truth.

Assets are built from boxes and cylinders in the asset frame (origin bottom centre, front −Y),
so every one has a known class, size and front. Everything is rendered by real Cycles through
bpy in one fresh interpreter (``scene_script.py``), and the run folder is written the way
perception writes it: observation.json, image, depth.npy, masks/<id>.png.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "scene_script.py"


def _box(size, offset, rgb, kind="cube"):
    return {"type": kind, "size": list(size), "offset": list(offset), "rgb": list(rgb)}


def chair(seat, legs, w=0.5, d=0.5, seat_h=0.45, back_h=0.45):
    parts = [_box((w, d, 0.07), (0, 0, seat_h - 0.07), seat), _box((w, 0.06, back_h), (0, d / 2 - 0.03, seat_h), seat)]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append(_box((0.05, 0.05, seat_h - 0.07), (sx * (w / 2 - 0.04), sy * (d / 2 - 0.04), 0), legs, "cylinder"))
    return parts, (w, d, seat_h + back_h)


def table(top, base, w=1.2, d=0.7, h=0.75):
    parts = [_box((w, d, 0.05), (0, 0, h - 0.05), top)]
    for sx in (-1, 1):
        for sy in (-1, 1):
            parts.append(_box((0.06, 0.06, h - 0.05), (sx * (w / 2 - 0.06), sy * (d / 2 - 0.06), 0), base))
    return parts, (w, d, h)


def sofa(body, cushion, w=1.9, d=0.85, h=0.8):
    parts = [_box((w, d, 0.42), (0, 0, 0), body), _box((w, 0.2, h - 0.42), (0, d / 2 - 0.1, 0.42), body),
             _box((w - 0.4, d - 0.3, 0.1), (0, -0.1, 0.42), cushion)]
    for sx in (-1, 1):
        parts.append(_box((0.18, d, 0.22), (sx * (w / 2 - 0.09), 0, 0.42), body))
    return parts, (w, d, h)


def cabinet(body, handle, w=0.8, d=0.45, h=1.1):
    parts = [_box((w, d, h), (0, 0, 0), body), _box((0.04, 0.03, 0.25), (-0.1, -d / 2 - 0.015, h * 0.5), handle),
             _box((0.04, 0.03, 0.25), (0.1, -d / 2 - 0.015, h * 0.5), handle),
             _box((w - 0.06, 0.01, 0.02), (0, -d / 2 - 0.005, h * 0.3), handle)]
    return parts, (w, d, h + 0.0)


def bed(frame, sheet, w=1.6, d=2.1, h=1.0):
    parts = [_box((w, d, 0.3), (0, 0, 0), frame), _box((w - 0.1, d - 0.15, 0.2), (0, -0.05, 0.3), sheet),
             _box((w, 0.08, h), (0, d / 2 - 0.04, 0), frame), _box((0.5, 0.35, 0.12), (-0.35, d / 2 - 0.3, 0.5), sheet),
             _box((0.5, 0.35, 0.12), (0.35, d / 2 - 0.3, 0.5), sheet)]
    return parts, (w, d, h)


def lamp(shade, base):
    parts = [_box((0.18, 0.18, 0.03), (0, 0, 0), base, "cylinder"), _box((0.03, 0.03, 0.3), (0, 0, 0.03), base, "cylinder"),
             _box((0.25, 0.25, 0.2), (0, 0, 0.3), shade, "cylinder"), _box((0.05, 0.04, 0.05), (0, -0.1, 0.05), shade)]
    return parts, (0.25, 0.25, 0.5)


RED, BLUE, GREEN, GREY = (0.7, 0.15, 0.1), (0.15, 0.25, 0.65), (0.2, 0.5, 0.2), (0.35, 0.35, 0.35)
WOOD, DARK, CREAM, WHITE = (0.55, 0.35, 0.18), (0.12, 0.1, 0.08), (0.85, 0.8, 0.65), (0.9, 0.9, 0.88)

# id → (class, (parts, size))
ASSETS: dict[str, tuple[str, tuple]] = {
    "chair_red": ("chair", chair(RED, DARK)),
    "chair_blue_tall": ("chair", chair(BLUE, GREY, back_h=0.6)),
    "chair_wood_wide": ("chair", chair(WOOD, WOOD, w=0.6, d=0.55)),
    "table_wood": ("table", table(WOOD, WOOD)),
    "table_white_small": ("table", table(WHITE, GREY, w=0.8, d=0.8, h=0.72)),
    "sofa_green": ("sofa", sofa(GREEN, CREAM)),
    "sofa_grey_short": ("sofa", sofa(GREY, BLUE, w=1.5, d=0.8)),
    "cabinet_wood": ("cabinet", cabinet(WOOD, DARK)),
    "cabinet_white_low": ("cabinet", cabinet(WHITE, GREY, w=1.0, h=0.7)),
    "bed_blue": ("bed", bed(WOOD, BLUE)),
    "bed_cream_single": ("bed", bed(DARK, CREAM, w=1.0)),
    "lamp_cream": ("lamp", lamp(CREAM, DARK)),
}


def template_views(size, count: int = 3, elevation_deg: float = 20.0) -> list[dict]:
    """Cameras around an asset: front, front-right, front-left (azimuths −90°, −45°, −135°) and more if asked."""
    az = [-90.0, -45.0, -135.0, 0.0, 180.0, 90.0][:count]
    dist = 1.6 * max(size) + 0.8
    target = (0.0, 0.0, size[2] / 2)
    out = []
    for a in az:
        e = math.radians(elevation_deg)
        loc = (dist * math.cos(e) * math.cos(math.radians(a)), dist * math.cos(e) * math.sin(math.radians(a)),
               target[2] + dist * math.sin(e))
        out.append({"width": 160, "height": 160, "lens_mm": 40, "location": loc, "target": target})
    return out


def run_bpy(jobs: list[dict], work: Path, timeout: float = 240) -> None:
    """Render jobs in one fresh bpy interpreter; a failure shows Blender's own output."""
    work.mkdir(parents=True, exist_ok=True)
    spec = work / f"jobs_{abs(hash(json.dumps(jobs, sort_keys=True))) % 10 ** 8}.json"
    spec.write_text(json.dumps({"jobs": jobs}))
    proc = subprocess.run([sys.executable, str(SCRIPT), str(spec)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"bpy render failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


@dataclass
class Placed:
    object_id: str
    asset_id: str
    label: str
    location: tuple[float, float, float]
    yaw: float
    group: str | None = None


def scene_job(out: Path, placed: list[Placed], samples: int = 12, blends: dict[str, str] | None = None) -> dict:
    """A scene render job; assets come from ``blends`` (asset id → .blend) when given, else from ASSETS' parts."""
    def entry(p: Placed) -> dict:
        e = {"id": p.object_id, "location": list(p.location), "yaw": p.yaw}
        if blends is not None:
            e["blend"] = blends[p.asset_id]
        else:
            e["parts"] = ASSETS[p.asset_id][1][0]
        return e

    return {"out": str(out), "samples": samples,
            "camera": {"width": 320, "height": 240, "lens_mm": 24, "location": [0.0, -0.8, 1.6],
                       "target": [0.0, 3.2, 0.3]},
            "objects": [entry(p) for p in placed]}


def write_observation(run: Path, placed: list[Placed], rng: np.random.Generator, box_yaw_noise_deg: float = 3.0,
                      sizes: dict[str, tuple] | None = None) -> None:
    """observation.json for a rendered scene: camera, floor and wall planes, objects with masks and noisy boxes.

    A box's yaw is the truth plus noise plus a random multiple of 90° (with its x and y sizes
    swapped for odd multiples), as perception's boxes are: precise but ambiguous by 90°.
    """
    from PIL import Image

    from imaginarium.core.schema import Box3D, Camera, Detection, Observation, Plane, SceneGraph, SceneObject

    cam = json.loads((run / "camera.json").read_text())
    objects = []
    for p in placed:
        mask = np.asarray(Image.open(run / "masks" / f"{p.object_id}.png")) > 127
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        size = sizes[p.asset_id] if sizes is not None else ASSETS[p.asset_id][1][1]
        k = int(rng.integers(0, 4))
        bsize = (size[1], size[0], size[2]) if k % 2 else tuple(size)
        bsize = tuple(max(float(s), 0.01) * float(rng.uniform(0.95, 1.05)) for s in bsize)
        yaw = p.yaw + k * math.pi / 2 + math.radians(float(rng.normal(0, box_yaw_noise_deg)))
        centre = (p.location[0], p.location[1], size[2] / 2)
        det = Detection(p.label, 0.9, [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)],
                        {"png": f"masks/{p.object_id}.png"})
        objects.append(SceneObject(p.object_id, p.label, det, Box3D(centre, bsize, yaw), group=p.group))
    planes = [Plane("floor", "floor", (0, 0, 1), 0.0), Plane("wall_0", "wall", (0, -1, 0), -5.975)]
    obs = Observation("image.png", Camera(**cam), planes, SceneGraph(objects), depth_path="depth.npy")
    obs.save(run / "observation.json")


def template_jobs(root: Path, views: int = 3) -> list[dict]:
    return [{"out": str(root / aid), "samples": 12, "asset": {"id": aid, "parts": parts}, "views": template_views(size, views)}
            for aid, (_cls, (parts, size)) in ASSETS.items()]


SLOTS = [(-1.5, 2.6), (0.0, 2.4), (1.5, 2.6), (-1.1, 4.3), (1.1, 4.3)]


def random_scenes(n_scenes: int, seed: int, labels: dict[str, str] | None = None) -> list[list[Placed]]:
    """Scenes of 4–5 objects in fixed floor slots with random assets and yaws (fronts towards the camera ±50°).

    Every scene has one group: two instances of the same chair.
    """
    rng = np.random.default_rng(seed)
    labels = labels or {}
    ids = [a for a in ASSETS if ASSETS[a][0] != "chair"]
    chairs = [a for a in ASSETS if ASSETS[a][0] == "chair"]
    scenes = []
    for s in range(n_scenes):
        chair_id = chairs[s % len(chairs)]
        picks = [chair_id, chair_id] + list(rng.choice(ids, size=3, replace=False))
        placed = []
        for i, (aid, (x, y)) in enumerate(zip(picks, SLOTS)):
            cls = ASSETS[aid][0]
            yaw = math.radians(float(rng.uniform(-50, 50)))
            group = f"g{s}" if i < 2 else None
            placed.append(Placed(f"{cls}_{s}_{i}", aid, labels.get(cls, cls), (x, y, 0.0), yaw, group))
        scenes.append(placed)
    return scenes


def yaw_error_deg(a: float, b: float) -> float:
    return abs(math.degrees((a - b + math.pi) % (2 * math.pi) - math.pi))


def evaluate(candidate_sets: list, scenes: list[list[Placed]], classes: dict[str, str],
             true_class: dict[str, str] | None = None) -> dict:
    """Class / asset top-1, yaw errors of the best hypothesis, and whether each group shares one asset."""
    cls_hits, asset_hits, yaw_err, groups_ok, n = 0, 0, [], [], 0
    for cs, placed in zip(candidate_sets, scenes):
        by_id = {c.object_id: c for c in cs.candidates}
        groups: dict[str, set] = {}
        for p in placed:
            c = by_id.get(p.object_id)
            if c is None:
                continue
            n += 1
            best = c.assets[0].asset_id if c.assets else None
            truth = true_class[p.asset_id] if true_class is not None else ASSETS[p.asset_id][0]
            cls_hits += best is not None and classes.get(best) == truth
            asset_hits += best == p.asset_id
            if c.poses:
                yaw_err.append(yaw_error_deg(c.poses[0].yaw, p.yaw))
            if p.group:
                groups.setdefault(p.group, set()).add(best)
        groups_ok += [len(v) == 1 for v in groups.values()]
    return {"objects": n, "class_top1": cls_hits / max(n, 1), "asset_top1": asset_hits / max(n, 1),
            "yaw_median_deg": float(np.median(yaw_err)) if yaw_err else None, "yaw_errors": yaw_err,
            "groups_share_one_asset": all(groups_ok), "groups": len(groups_ok)}


def index_from_templates(embedder, templates: Path, asset_ids: list[str] | None = None):
    """A TemplateIndex straight from rendered template folders (view_<k>.png + poses.json), no store."""
    from imaginarium.core.matching.crops import crop_from_rgba, read_rgba
    from imaginarium.core.matching.index import TemplateIndex

    ids = asset_ids or list(ASSETS)
    glob, patch, poses, owner = [], [], [], []
    for i, aid in enumerate(ids):
        pj = json.loads((templates / aid / "poses.json").read_text())
        crops = [crop_from_rgba(read_rgba(templates / aid / f"view_{k}.png"), embedder.input_size) for k in range(len(pj))]
        f = embedder.embed(crops)
        glob.append(f["global"])
        patch.append(f["patch"])
        poses += pj
        owner += [i] * len(pj)
    return TemplateIndex(ids, np.array(owner, np.int32), np.concatenate(glob).astype(np.float16),
                         np.concatenate(patch).astype(np.float16), np.array(poses, np.float32), embedder.grid)


def asset_records(classes: dict[str, str] | None = None) -> dict:
    """Catalogue records of the fixture assets (retrieval class renamed through ``classes`` if given)."""
    from imaginarium.core.schema import AssetRecord

    classes = classes or {}
    return {a: AssetRecord(a, a, classes.get(c, c), classes.get(c, c), size) for a, (c, (_p, size)) in ASSETS.items()}


def match_scene(run: Path, embedder, index, retriever, mirror: bool = True):
    """What the match stage does for one run folder, on an in-memory index (no library store)."""
    from imaginarium.core.matching.crops import make_crop
    from imaginarium.core.matching.observed import load_image, load_observation, observed_objects
    from imaginarium.core.matching.pose import estimate_pose
    from imaginarium.core.matching.retrieval import Query
    from imaginarium.core.schema import Candidate, CandidateSet

    obs = load_observation(run)
    img = load_image(run, obs)
    objs, _ = observed_objects(run, obs, img.shape[:2])
    crops = [make_crop(img, o.mask, embedder.input_size) for o in objs]
    f = embedder.embed(crops)
    fm = embedder.embed([c.flipped() for c in crops]) if mirror else None
    queries = [Query(o.obj.id, o.obj.label, f["global"][k], f["patch"][k], np.array(o.obj.box.size), o.obj.group)
               for k, o in enumerate(objs)]
    ranked = retriever.rank(queries)
    cands = []
    for k, o in enumerate(objs):
        hyps, _ = estimate_pose(index, ranked[o.obj.id][0].asset_id, obs.camera, f["global"][k], f["patch"][k],
                                box=o.obj.box, pixel=o.centroid,
                                mirrored=None if fm is None else (fm["global"][k], fm["patch"][k]))
        cands.append(Candidate(o.obj.id, ranked[o.obj.id], hyps))
    return CandidateSet(cands)
