"""The match stage: observation.json + library → candidates.json.

Steps (each reports progress and can be cancelled between steps): open the library's store
and catalogue; choose the embedder (DINOv2, or the classical one with a notice); embed the
library's templates that are missing; embed every object's masked crop (and its mirror
image for pose); rank assets per object (groups together); estimate pose hypotheses for
the best asset; choose background textures; write the CandidateSet.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Secrets, Settings
from ..schema import Candidate, CandidateSet
from .crops import make_crop
from .embed_library import RenderPatchSource, embed_library, patch_bytes
from .embedders import load_embedder
from .index import TemplateIndex
from .observed import load_depth, load_image, load_observation, observed_objects
from .pose import box_hypotheses, estimate_pose
from .retrieval import NoCandidatesError, Query, Retriever
from .texture_vlm import texture_chooser
from .textures import choose_textures
from . import store_access

log = logging.getLogger(__name__)


def _size(record: Any) -> tuple[float, float, float] | None:
    return None if record is None else tuple(float(v) for v in record.size)  # type: ignore[return-value]


class _Steps:
    """Progress and cancellation through a worker JobContext when there is one; the log otherwise."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    def __call__(self, fraction: float, message: str) -> None:
        if self.ctx is not None:
            self.ctx.progress(fraction, message)   # also raises CancelledError when asked to stop
        else:
            log.info("match %3.0f%% %s", 100 * fraction, message)

    def note(self, message: str) -> None:
        if self.ctx is not None:
            self.ctx.log(message, "warning")
        log.warning(message)

    def check(self) -> None:
        if self.ctx is not None:
            self.ctx.check_cancelled()


def match(run_dir: str | Path, library_dir: str | Path, settings: Settings, *, ctx: Any = None,
          secrets: Secrets | None = None) -> CandidateSet:
    """Candidates for every object of the run's observation; writes ``run_dir/candidates.json``.

    ``secrets`` (default: from the environment) decides whether textures are chosen by the VLM.
    """
    run_dir = Path(run_dir)
    rs = settings.retrieval
    step = _Steps(ctx)
    notes: list[str] = []

    step(0.0, "reading the observation")
    obs = load_observation(run_dir)
    image = load_image(run_dir, obs)
    objects, more = observed_objects(run_dir, obs, image.shape[:2])
    notes += more

    step(0.05, "opening the library")
    store = store_access.open_store(library_dir)
    assets, more = store_access.load_assets(library_dir)
    notes += more
    embedder, more = load_embedder(settings, notify=step.note)
    notes += more
    notes.append(f"embedder: {embedder.name}")

    store_patches = patch_bytes(store, embedder) <= rs.patch_store_max_gb * 2 ** 30
    if rs.embed_missing:
        def _embed_progress(i: int, n: int, asset_id: str) -> None:
            step(0.05 + 0.35 * i / max(n, 1), f"embedding library templates {i}/{n}")
        summary = embed_library(store, embedder, patches=store_patches, progress=_embed_progress,
                                check_cancelled=step.check)
        if summary["embedded"]:
            notes.append(f"embedded {summary['embedded']} asset(s) into the library store with {embedder.name}")
    source = None if store_patches else RenderPatchSource(store, embedder)
    if source is not None:
        notes.append("template patch features are computed from the renders on demand (too large to store).")
    index = TemplateIndex.from_store(store, embedder, patch_source=source)
    device = str(getattr(embedder, "device", "cpu"))
    if device.startswith("cuda"):
        index.to_device(device)   # similarity and patch matching on the GPU, next to the model

    step(0.4, f"embedding {len(objects)} object crop(s)")
    crops = [make_crop(image, o.mask, embedder.input_size) for o in objects]
    feats = embedder.embed(crops) if crops else {"global": np.zeros((0, 1)), "patch": np.zeros((0, 1, 1))}
    mirror = embedder.embed([c.flipped() for c in crops]) if crops and rs.mirror_views else None
    step.check()

    queries = [Query(o.obj.id, o.obj.label, feats["global"][i], feats["patch"][i],
                     None if o.obj.box is None else np.asarray(o.obj.box.size, dtype=np.float64), o.obj.group)
               for i, o in enumerate(objects)]
    retriever = Retriever(index, assets, store_access.classes_for({a.retrieval_class for a in assets.values()}), rs)

    def _unmatched(q: Query, exc: NoCandidatesError) -> None:
        if rs.strict_labels:
            raise exc
        msg = f"{q.object_id}: {exc.message} Fix: {exc.fix}"
        notes.append(msg)
        step.note(msg)

    def _rank_progress(i: int, n: int) -> None:
        step(0.45 + 0.35 * i / max(n, 1), f"retrieval {i}/{n}")

    ranked = retriever.rank(queries, on_error=_unmatched, step=_rank_progress)

    candidates = []
    for i, o in enumerate(objects):
        step.check()
        assets_i = ranked.get(o.obj.id, [])
        poses = []
        if assets_i:
            mirrored = None if mirror is None else (mirror["global"][i], mirror["patch"][i])
            poses, _ = estimate_pose(index, assets_i[0].asset_id, obs.camera, feats["global"][i], feats["patch"][i],
                                     box=o.obj.box, pixel=o.centroid, mirrored=mirrored,
                                     small_object_m=rs.small_object_m, max_views=rs.pose_views,
                                     asset_size=_size(assets.get(assets_i[0].asset_id)))
        candidates.append(Candidate(o.obj.id, assets_i, poses))
    # Objects perception could not mask still get an entry (no assets; the box's yaws if it has one).
    seen = {c.object_id for c in candidates}
    for obj in obs.graph.objects:
        if obj.id not in seen:
            candidates.append(Candidate(obj.id, [], [] if obj.box is None else box_hypotheses(obj.box)))
    step(0.85, "choosing background textures")

    textures, more = store_access.load_textures(library_dir)
    notes += more
    union = np.zeros(image.shape[:2], bool)
    for o in objects:
        union |= o.mask
    chooser = texture_chooser(settings.vlm, Secrets.gather() if secrets is None else secrets) if textures else None
    chosen, more = choose_textures(obs, image, textures, depth=load_depth(run_dir, obs), objects_mask=union,
                                   vlm_chooser=chooser)
    notes.append("textures: " + ("asked the VLM (captions); colour statistics as fallback" if chooser
                                 else "chosen by colour statistics (no Anthropic key)"))
    notes += more
    result = CandidateSet(candidates, chosen, notes)
    result.save(run_dir / "candidates.json")
    step(1.0, f"matched {sum(1 for c in candidates if c.assets)} of {len(obs.graph.objects)} object(s)")
    return result
