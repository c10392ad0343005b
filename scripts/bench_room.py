"""Photo → room, timed: perceive + match + solve on a 1024² image with 15 detections, full-size models.

What runs (the product's own code for each stage):

* perceive — ``core.pipeline.perceive_stage``: Depth Anything V2 metric ViT-L (transformers,
  loaded from a weights folder by the product's loader), detections given as 15 boxes (a
  detections file), depth-aware masks, room planes, 3D boxes, scene graph from geometry;
* match — the match stage's core on a synthetic 2,000-asset store: DINOv2 ViT-L embeds every
  object's crop and its mirror, ``Retriever`` ranks assets (global similarity, patch matching of
  the best, size, class), ``estimate_pose`` reads the pose; the store is random float16
  features of DINOv2-L's sizes (as ``scripts/bench_retrieval.py``), uploaded to the device as
  ``match()`` does for each image. Background textures are not chosen (no textures in a synthetic
  store), so ``core.matching.pipeline.match`` itself is not called;
* solve — ``build_problem`` + ``core.layout.solver.solve`` (needs Blender's mathutils: where it
  is missing the run folders are kept, and ``--solve-runs`` times this step on another machine).

The models have **random weights** (no checkpoint can be fetched on a GPU machine without a
network); the architecture and sizes are the real ones, so the timings are, the outputs are not.
The 1024² image is a procedurally drawn room with 15 furniture boxes; Grounding DINO base is
timed separately on the same image (its boxes are not used: random weights find nothing).

Cold = from launching a fresh Python process to the first layout (imports, model loading from
disk — page cache warm, the files were just written — and the first image). Warm = the second
image in the same process. Usage::

    python scripts/bench_room.py --device cuda            # full size (GPU)
    python scripts/bench_room.py --device cpu --scale tiny --assets 200   # a quick check
    python scripts/bench_room.py --solve-runs runs.tgz    # time solve on run folders from elsewhere
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["bed", "nightstand", "wardrobe", "desk", "office chair", "bookshelf", "sofa", "coffee table", "armchair",
          "tv stand", "floor lamp", "dresser", "cabinet", "plant", "bench"]


def _package() -> None:
    sys.path.insert(0, str(ROOT))
    from scripts._package import load

    load()


# ---- the scene: a drawn room, its true depth (for reference) and 15 detection boxes ----------------------------

def make_scene(size: int, objects: int, seed: int) -> tuple[np.ndarray, list[dict], np.ndarray]:
    """A box room seen from 1.5 m at 60° FoV, with ``objects`` furniture boxes on the floor; RGB, detections, depth."""
    rng = np.random.default_rng(seed)
    f = size / (2 * np.tan(np.radians(30)))
    v, u = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    pitch = np.radians(12)
    d_cam = np.stack([(u - size / 2) / f, (v - size / 2) / f, np.ones_like(u)], -1)  # OpenCV axes
    rot = np.array([[1, 0, 0], [0, -np.sin(pitch), np.cos(pitch)], [0, -np.cos(pitch), -np.sin(pitch)]])
    d = d_cam @ rot.T  # world: x right, y forward, z up
    origin = np.array([0.0, 0.0, 1.5])
    t = np.full(d.shape[:2], np.inf)
    ident = np.full(d.shape[:2], -1)
    planes = [(2, 0.0, -1), (2, 2.7, -2), (1, 5.0, -3), (0, -2.6, -4), (0, 2.6, -5)]  # floor, ceiling, 3 walls
    for axis, value, pid in planes:
        with np.errstate(divide="ignore", invalid="ignore"):
            tt = (value - origin[axis]) / d[..., axis]
        ok = (tt > 0) & (tt < t)
        t[ok], ident[ok] = tt[ok], pid
    boxes = []
    for i in range(objects):
        w, dep, h = rng.uniform(0.4, 1.6), rng.uniform(0.4, 1.0), rng.uniform(0.4, 1.9)
        cx, cy = rng.uniform(-2.0, 2.0), rng.uniform(1.8, 4.6)
        lo, hi = np.array([cx - w / 2, cy - dep / 2, 0.0]), np.array([cx + w / 2, cy + dep / 2, h])
        with np.errstate(divide="ignore", invalid="ignore"):
            t0, t1 = (lo - origin) / d, (hi - origin) / d
        tn = np.nanmax(np.minimum(t0, t1), -1)
        tf = np.nanmin(np.maximum(t0, t1), -1)
        hit = (tn <= tf) & (tn > 0) & (tn < t)
        t[hit], ident[hit] = tn[hit], i
        boxes.append((lo, hi))
    colours = rng.integers(40, 230, (objects + 6, 3))
    rgb = colours[np.where(ident >= 0, ident, objects - ident)].astype(np.float32)
    rgb += rng.normal(0, 12, rgb.shape)  # texture, so crops and segmentation see something
    rgb = np.clip(rgb * (0.75 + 0.25 * np.clip(d[..., 2] + 0.5, 0, 1))[..., None], 0, 255).astype(np.uint8)
    depth = t.astype(np.float32)  # the camera z of origin + t·d is t, since d's camera z is 1
    dets = []
    for i in range(objects):
        ys, xs = np.nonzero(ident == i)
        if len(xs) < 50:  # hidden behind another: give it a small box where it would be
            x0 = size * (0.02 + 0.06 * (i % 15))
            xs, ys = np.array([x0, x0 + 0.05 * size]), np.array([0.88 * size, 0.95 * size])
        dets.append({"label": LABELS[i % len(LABELS)], "score": 0.9,
                     "box": [float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)]})
    return rgb, dets, depth


# ---- random full-size (or tiny) models, saved as weights folders ------------------------------------------------

def model_configs(scale: str) -> dict:
    from transformers import (BertConfig, DepthAnythingConfig, Dinov2Config, GroundingDinoConfig, SwinConfig)

    if scale == "full":
        vit = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, mlp_ratio=4, patch_size=14,
                   image_size=518)
        depth = DepthAnythingConfig(
            backbone_config=Dinov2Config(**vit, out_features=["stage5", "stage12", "stage18", "stage24"],
                                         reshape_hidden_states=False),
            reassemble_hidden_size=1024, neck_hidden_sizes=[256, 512, 1024, 1024], fusion_hidden_size=256,
            head_hidden_size=32, depth_estimation_type="metric", max_depth=20, patch_size=14)
        swin = SwinConfig(image_size=384, patch_size=4, embed_dim=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32],
                          window_size=12, out_features=["stage2", "stage3", "stage4"])
        gdino = GroundingDinoConfig(backbone_config=swin, text_config=BertConfig())  # base: Swin-B + BERT-base
        return {"depth": depth, "dinov2": Dinov2Config(**vit), "gdino": gdino}
    vit = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=2, mlp_ratio=4, patch_size=14, image_size=224)
    depth = DepthAnythingConfig(
        backbone_config=Dinov2Config(**vit, out_features=["stage1", "stage2", "stage3", "stage4"],
                                     reshape_hidden_states=False),
        reassemble_hidden_size=64, neck_hidden_sizes=[8, 16, 32, 32], fusion_hidden_size=16, head_hidden_size=8,
        depth_estimation_type="metric", max_depth=20, patch_size=14)
    swin = SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
                      window_size=4, out_features=["stage2", "stage3", "stage4"])
    gdino = GroundingDinoConfig(backbone_config=swin, text_config=BertConfig(hidden_size=32, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=64), d_model=32, encoder_layers=1,
                                decoder_layers=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_queries=30,
                                encoder_attention_heads=2, decoder_attention_heads=2)
    return {"depth": depth, "dinov2": Dinov2Config(**vit), "gdino": gdino}


def write_models(weights: Path, scale: str, device: str) -> dict:
    """Random-weight models in the folders the product's loaders read (built on ``device`` for speed)."""
    import torch
    from transformers import (BertTokenizer, DepthAnythingForDepthEstimation, Dinov2Model,
                              GroundingDinoForObjectDetection, GroundingDinoImageProcessor, GroundingDinoProcessor)

    configs = model_configs(scale)
    params = {}
    build = "cuda" if device == "cuda" else "cpu"
    for name, cls, folder in (("depth", DepthAnythingForDepthEstimation, "depth-anything-v2-metric-indoor-large"),
                              ("dinov2", Dinov2Model, "dinov2-large"),
                              ("gdino", GroundingDinoForObjectDetection, "grounding-dino-base")):
        torch.manual_seed(0)
        with torch.device(build):
            model = cls(configs[name])
        params[name] = sum(p.numel() for p in model.parameters())
        model.save_pretrained(weights / folder)
        del model
    folder = weights / "grounding-dino-base"
    words = sorted({w for label in LABELS for w in label.split()})
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."] + words) + "\n")
    tokenizer = BertTokenizer(vocab=str(folder / "vocab.txt"))
    GroundingDinoProcessor(image_processor=GroundingDinoImageProcessor(), tokenizer=tokenizer).save_pretrained(folder)
    if build == "cuda":
        torch.cuda.empty_cache()
    return params


def write_store(folder: Path, assets: int, views: int, dim: int, grid: int, seed: int = 0) -> None:
    """Random unit float16 features ([N, D] global, [N, P, D] patches, ~40 % background) and template poses."""
    rng = np.random.default_rng(seed)
    n = assets * views
    glob = np.lib.format.open_memmap(folder / "global.npy", mode="w+", dtype=np.float16, shape=(n, dim))
    patch = np.lib.format.open_memmap(folder / "patch.npy", mode="w+", dtype=np.float16, shape=(n, grid * grid, dim))
    for s in range(0, n, 64):
        e = min(n, s + 64)
        g = rng.standard_normal((e - s, dim), dtype=np.float32)
        glob[s:e] = g / np.linalg.norm(g, axis=-1, keepdims=True)
        p = rng.standard_normal((e - s, grid * grid, dim), dtype=np.float32)
        p /= np.linalg.norm(p, axis=-1, keepdims=True)
        p[:, : grid * 6] = 0.0
        patch[s:e] = p
    glob.flush()
    patch.flush()
    az = np.tile(np.radians(np.linspace(-180, 180, views, endpoint=False)), assets)
    poses = np.zeros((n, 4, 4), np.float32)
    for i, a in enumerate(az):  # cameras 3 m out, 1 m up, looking at the asset (OpenCV axes)
        eye = np.array([3 * np.cos(a), 3 * np.sin(a), 1.0])
        z = -eye / np.linalg.norm(eye)
        x = np.cross(z, [0, 0, 1.0])
        x /= np.linalg.norm(x)
        poses[i, :3, :3] = np.stack([x, np.cross(z, x), z], 1)
        poses[i, :3, 3], poses[i, 3, 3] = eye, 1.0
    np.save(folder / "poses.npy", poses)
    classes = sorted(set(LABELS)) + [f"other_{i}" for i in range(15)]
    sizes = rng.uniform(0.3, 2.0, (assets, 3))
    (folder / "assets.json").write_text(json.dumps(
        {"views": views, "grid": grid, "assets": [{"id": f"a{i:05d}", "class": classes[i % len(classes)],
                                                    "size": [round(float(v), 3) for v in sizes[i]]}
                                                   for i in range(assets)]}))


# ---- the child process: what is timed -----------------------------------------------------------------------------

def child(work: Path, device: str, launched: float) -> dict:
    t_import = time.time()
    _package()
    import torch  # noqa: F401  (imported here so its import time counts in the cold figure)

    from imaginarium.core.config import Secrets, Settings
    from imaginarium.core.pipeline import perceive_stage

    settings = Settings()
    settings.paths.weights_dir = str(work / "weights")
    settings.device.device = device
    settings.detection.backend = "file"
    out: dict = {"imports_s": round(time.time() - t_import, 2)}
    store = _open_store(work / "store", device)  # the library stays on disk
    # warm = as match() runs now: the template index stays on the device between images of one worker
    # (core.matching.pipeline._template_index); the last pass re-uploads it, as match() did before
    passes = (("cold", "a", False), ("warm", "b", True), ("warm_index_reuploaded", "b", False))
    for tag, image, keep_index in passes:
        run = work / "runs" / image
        t = {}
        t0 = time.time()
        steps = StepClock(device)
        perceive_stage(work / f"{image}.png", run, settings, Secrets(), detections=work / f"{image}.json",
                       fov_deg=60.0, clean=True, ctx=steps)
        t["perceive_s"] = time.time() - t0
        t["perceive_steps_s"] = steps.spans()
        t1 = time.time()
        t.update(match_synthetic(run, work / "store", store, settings, keep_index))
        t["match_s"] = time.time() - t1
        t2 = time.time()
        solved = solve_run(run, store["records"])
        t["solve_s"] = time.time() - t2 if solved["ran"] else None
        t["total_s"] = time.time() - t0
        t["objects"] = solved.get("objects")
        t["placed"] = solved.get("placed")
        if tag == "cold":
            t["process_start_to_layout_s"] = time.time() - launched
        out[tag] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in t.items()}
        out[tag]["solve_note"] = solved.get("note", "")
    out["detector"] = time_detector(work, settings, device)
    out["depth_model_warm_s"] = time_depth(work, settings, device)
    return out


class StepClock:
    """A JobContext stand-in that notes when each of perceive's progress steps starts (its time breakdown)."""

    def __init__(self, device: str) -> None:
        self.device, self.marks = device, [("start", time.time())]

    def progress(self, fraction: float, message: str = "") -> None:
        _sync(self.device)
        self.marks.append((message, time.time()))

    def check_cancelled(self) -> None:
        pass

    def log(self, message: str, level: str = "info") -> None:
        pass

    def spans(self) -> dict:
        return {name: round(t1 - t0, 3) for (name, t0), (_n, t1) in zip(self.marks, self.marks[1:]) if t1 - t0 >= 0.005}


def _open_store(folder: Path, device: str) -> dict:
    from imaginarium.core.schema import AssetRecord

    meta = json.loads((folder / "assets.json").read_text())
    records = {a["id"]: AssetRecord(a["id"], a["id"], a["class"], a["class"], a["size"]) for a in meta["assets"]}
    return {"meta": meta, "records": records}


def match_synthetic(run: Path, store_dir: Path, store: dict, settings, keep_index: bool = False) -> dict:
    """The match stage's core (crops → DINOv2 → retrieval → pose → candidates.json) on the synthetic store.

    ``keep_index`` reuses the device copy made for the previous image, as ``match()`` does in a warm worker
    (its index cache is keyed by the store's committed generation); without it the index is read from the
    store and copied to the device again (``match()`` before that cache).
    """
    from imaginarium.core.matching.crops import make_crop
    from imaginarium.core.matching.embedders import load_embedder
    from imaginarium.core.matching.index import TemplateIndex
    from imaginarium.core.matching.observed import load_image, load_observation, observed_objects
    from imaginarium.core.matching.pose import estimate_pose
    from imaginarium.core.matching.retrieval import Query, Retriever
    from imaginarium.core.schema import Candidate, CandidateSet

    times = {}
    rs = settings.retrieval
    t = time.time()
    obs = load_observation(run)
    image = load_image(run, obs)
    objects, notes = observed_objects(run, obs, image.shape[:2])
    embedder, more = load_embedder(settings)
    times["embedder_load_s"] = time.time() - t
    assert embedder.name.startswith("dinov2"), f"the bench must use DINOv2, got {embedder.name}: {more}"
    t = time.time()
    meta = store["meta"]
    n_assets, views = len(meta["assets"]), meta["views"]
    index = store.get("index") if keep_index else None
    if index is None:
        rows = np.repeat(np.arange(n_assets), views).astype(np.int32)
        index = store["index"] = TemplateIndex([a["id"] for a in meta["assets"]], rows,
                                               np.load(store_dir / "global.npy", mmap_mode="r"),
                                               np.load(store_dir / "patch.npy", mmap_mode="r"),
                                               np.load(store_dir / "poses.npy"), meta["grid"])
        device = str(getattr(embedder, "device", "cpu"))
        if device.startswith("cuda"):
            index.to_device(device)
            _sync("cuda")
    times["index_to_device_s"] = time.time() - t
    t = time.time()
    crops = [make_crop(image, o.mask, embedder.input_size) for o in objects]
    feats = embedder.embed(crops)
    mirror = embedder.embed([c.flipped() for c in crops])
    times["embed_s"] = time.time() - t
    t = time.time()
    queries = [Query(o.obj.id, o.obj.label, feats["global"][i], feats["patch"][i],
                     None if o.obj.box is None else np.asarray(o.obj.box.size, dtype=np.float64), o.obj.group)
               for i, o in enumerate(objects)]
    retriever = Retriever(index, store["records"], lambda label: [label], rs)
    ranked = retriever.rank(queries, on_error=lambda q, e: notes.append(f"{q.object_id}: {e.message}"))
    times["retrieval_s"] = time.time() - t
    t = time.time()
    candidates = []
    for i, o in enumerate(objects):
        assets_i = ranked.get(o.obj.id, [])
        poses = []
        if assets_i:
            poses, _ = estimate_pose(index, assets_i[0].asset_id, obs.camera, feats["global"][i], feats["patch"][i],
                                     box=o.obj.box, pixel=o.centroid,
                                     mirrored=(mirror["global"][i], mirror["patch"][i]),
                                     small_object_m=rs.small_object_m, max_views=rs.pose_views,
                                     asset_size=tuple(store["records"][assets_i[0].asset_id].size))
        candidates.append(Candidate(o.obj.id, assets_i, poses))
    times["pose_s"] = time.time() - t
    CandidateSet(candidates, {}, notes + ["bench: synthetic store, no textures"]).save(run / "candidates.json")
    times["matched"] = sum(1 for c in candidates if c.assets)
    return times


def solve_run(run: Path, records: dict) -> dict:
    """build_problem + solve (Blender's mathutils); reports why when it cannot run here."""
    from imaginarium.core.errors import ImaginariumError
    from imaginarium.core.layout.problem import build_problem
    from imaginarium.core.schema import CandidateSet, Observation

    obs = Observation.load(run / "observation.json")
    try:
        from imaginarium.core.layout.mathutils_loader import load_mathutils
        from imaginarium.core.layout.solver import solve

        load_mathutils()
    except (ImaginariumError, ImportError) as exc:
        return {"ran": False, "objects": len(obs.graph.objects), "note": f"solve not run here: {exc}"}
    layout = solve(build_problem(obs, CandidateSet.load(run / "candidates.json"), records))
    return {"ran": True, "objects": len(obs.graph.objects), "placed": len(layout.placements)}


def time_detector(work: Path, settings, device: str) -> dict:
    """Grounding DINO base (random weights) on image a: cold (load + first call) and warm."""
    from imaginarium.core.perception.backends import pick_device
    from imaginarium.core.perception.grounding_dino import GroundingDinoLocal
    from imaginarium.core.perception.images import load_image

    rgb = load_image(work / "a.png").rgb
    det = GroundingDinoLocal(work / "weights" / "grounding-dino-base", settings.detection, pick_device(settings))
    out = {}
    for tag in ("cold_with_load_s", "warm_s", "warm2_s"):
        t = time.time()
        det.detect(rgb, LABELS)
        _sync(device)
        out[tag] = round(time.time() - t, 3)
    return out


def time_depth(work: Path, settings, device: str) -> float:
    from imaginarium.core.geometry.camera import resolve_intrinsics
    from imaginarium.core.perception.backends import depth_backend
    from imaginarium.core.perception.images import load_image

    rgb = load_image(work / "b.png").rgb
    backend = depth_backend(settings, None)
    k = resolve_intrinsics(rgb.shape[1], rgb.shape[0], fov_deg=60.0)
    backend.predict(rgb, k)
    t = time.time()
    backend.predict(rgb, k)
    _sync(device)
    return round(time.time() - t, 3)


def _sync(device: str) -> None:
    if device == "cuda":
        import torch
        torch.cuda.synchronize()


# ---- the parent: set up, launch the child, report -------------------------------------------------------------------

def setup(work: Path, args: argparse.Namespace, device: str) -> dict:
    from PIL import Image

    t = time.time()
    (work / "weights").mkdir(parents=True, exist_ok=True)
    (work / "store").mkdir(exist_ok=True)
    params = write_models(work / "weights", args.scale, device)
    t_models = time.time() - t
    t = time.time()
    dim = 1024 if args.scale == "full" else 64
    write_store(work / "store", args.assets, args.views, dim, 16)
    t_store = time.time() - t
    for name, seed in (("a", 1), ("b", 2)):
        rgb, dets, depth = make_scene(args.size, args.objects, seed)
        Image.fromarray(rgb).save(work / f"{name}.png")
        (work / f"{name}.json").write_text(json.dumps(dets))
        np.save(work / f"{name}_true_depth.npy", depth)
    return {"models_written_s": round(t_models, 1), "store_written_s": round(t_store, 1),
            "parameters_millions": {k: round(v / 1e6, 1) for k, v in params.items()}}


def device_name(device: str) -> str:
    if device == "cuda":
        import torch
        return torch.cuda.get_device_name(0)
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def solve_runs(source: Path, store_assets: int) -> dict:
    """Time fit-free solving on run folders produced elsewhere (e.g. on a GPU machine without mathutils)."""
    _package()
    work = Path(tempfile.mkdtemp(prefix="bench_room_solve_"))
    if source.is_file():
        with tarfile.open(source) as tar:
            tar.extractall(work, filter="data")
        source = work
    store = _open_store(source / "store", "cpu")
    out = {}
    for run in sorted(p for p in (source / "runs").iterdir() if p.is_dir()):
        solve_run(run, store["records"])  # warm-up (first mathutils use)
        t = time.time()
        r = solve_run(run, store["records"])
        out[run.name] = {"solve_s": round(time.time() - t, 3), **r}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--scale", default="full", choices=["full", "tiny"], help="tiny: small models, a quick check")
    parser.add_argument("--assets", type=int, default=2000)
    parser.add_argument("--views", type=int, default=3, help="template views per asset in the synthetic store")
    parser.add_argument("--objects", type=int, default=15)
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels")
    parser.add_argument("--work", help="working folder (default: a temporary one)")
    parser.add_argument("--keep-runs", help="write the run folders and the store's catalogue to this .tar")
    parser.add_argument("--solve-runs", help="only time solving on the run folders in this .tar or folder")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.solve_runs:
        print(json.dumps({"solve_only": solve_runs(Path(args.solve_runs), args.assets)}, indent=1))
        return
    device = args.device
    if device == "auto":
        import torch
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.child:
        print(json.dumps(child(Path(args.work), device, args.launched)))
        return
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_room_"))
    work.mkdir(parents=True, exist_ok=True)
    prepared = setup(work, args, device)
    launched = time.time()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--work", str(work),
                           "--device", device, "--launched", repr(launched)],
                          capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-6000:])
        raise SystemExit(f"the timed process failed (exit {proc.returncode})")
    timed = json.loads(proc.stdout.strip().splitlines()[-1])
    if args.keep_runs:  # what solving reads: each run's observation and candidates, and the catalogue
        with tarfile.open(args.keep_runs, "w:gz") as tar:
            for run in sorted((work / "runs").iterdir()):
                for name in ("observation.json", "candidates.json"):
                    tar.add(run / name, f"runs/{run.name}/{name}")
            tar.add(work / "store" / "assets.json", "store/assets.json")
    import torch
    import transformers
    print(json.dumps({
        "device": device_name(device), "torch": torch.__version__, "transformers": transformers.__version__,
        "python": platform.python_version(), "weights": "random (full architecture)" if args.scale == "full"
        else "random, tiny models (a check, not a measurement)", "scale": args.scale, "image": f"{args.size}²",
        "detections": args.objects, "store": {"assets": args.assets, "views": args.views,
                                              "feature": "DINOv2-L sizes" if args.scale == "full" else "tiny"},
        "setup": prepared, **timed}, indent=1))


if __name__ == "__main__":
    main()
