"""The match stage: observation.json + library → candidates.json.

Steps (each reports progress and can be cancelled between steps): open the library's store,
catalogue and vocabulary; choose the embedder (DINOv2, or the classical one with a notice);
embed the library's templates that are missing; embed every object's masked crop (and its
mirror image for pose); rank assets per object (groups together; removed objects too, so a
restored one has its candidates); estimate pose hypotheses for the best asset; choose
background textures; write the CandidateSet.

An object whose label maps to no asset of the library, or that has no mask to compare its
look, gets a placeholder (a labelled box of its observed size, :mod:`.placeholder`) with a
note — never silence. Objects contained in a composite asset chosen for another object are
marked removed in observation.json (:mod:`core.perception.composite`), committed as an edit of
the observation before the candidates.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Secrets, Settings
from ..errors import BadInputError
from ..runfolder import OBSERVATION_STAGES, RunFolder, sha256_file, stage_key
from ..schema import Candidate, CandidateSet, Observation
from .crops import make_crop
from .embed_library import RenderPatchSource, embed_library, patch_bytes
from .embedders import load_embedder
from .index import TemplateIndex
from .observed import load_depth, load_image, load_observation, observed_objects
from .placeholder import placeholder_candidate
from .pose import box_hypotheses, estimate_pose
from .retrieval import NoCandidatesError, Query, Retriever
from .texture_vlm import texture_chooser
from .textures import choose_textures
from . import store_access

log = logging.getLogger(__name__)
_RERUN_FIX = ("Run perception again on this folder (python -m core perceive IMAGE --out RUN_DIR, "
              "or From Image in Blender), then match.")


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


def match_key(run_dir: str | Path, library_dir: str | Path, settings: Settings, secrets: Secrets | None = None) -> str:
    """The match stage's cache key: the committed observation, the library and the settings it reads."""
    run = RunFolder(run_dir)
    rec = run.records.get("observation")
    obs_sha = rec.files.get("observation.json") if rec else run.current_hash("observation.json")
    vlm = bool((Secrets.gather() if secrets is None else secrets).anthropic_api_key)
    return stage_key("match", obs_sha, library_state(library_dir), vars(settings.retrieval),
                     vars(settings.vlm) if vlm else None)


def library_state(library_dir: str | Path) -> list[str | None]:
    """The library as a stage read it: its folder, the catalogue's content and the derived store's index.

    Part of every cache key that reads the library, so a rebuilt or edited library is matched
    again instead of reusing candidates made from the old one.
    """
    from ..library.catalogue import resolve_csv

    csv_path, folder = resolve_csv(library_dir)
    index = Path(folder) / "derived" / "index.json"
    return [str(Path(folder).resolve()), sha256_file(csv_path), sha256_file(index) if index.is_file() else None]


_INDEX_CACHE: dict[tuple[str, str, str, str], TemplateIndex] = {}


def _template_index(store: Any, embedder: Any, source: Any) -> TemplateIndex:
    """The library's template index, on the embedder's device, kept warm between runs of one worker.

    Why: moving a 2,000-asset index (gigabytes of patch features) to the GPU for every image costs
    more than the whole warm image otherwise (measured on an H100, docs/benchmarks.md). The key is
    the store's committed generation, so a rebuilt or re-embedded library is loaded afresh.
    """
    device = str(getattr(embedder, "device", "cpu"))
    root = Path(getattr(store, "root", ""))
    index_file = root / "index.json"
    stamp = f"{index_file.stat().st_mtime_ns}:{index_file.stat().st_size}" if index_file.is_file() else "none"
    key = (str(root.resolve()) if str(root) else "", stamp, embedder.name, device)
    if source is not None or not str(root):  # patches computed from renders on demand: not worth keeping
        index = TemplateIndex.from_store(store, embedder, patch_source=source)
    elif key in _INDEX_CACHE:
        return _INDEX_CACHE[key]
    else:
        index = TemplateIndex.from_store(store, embedder, patch_source=source)
        _INDEX_CACHE.clear()  # one library at a time: a second one would double the GPU memory held
        _INDEX_CACHE[key] = index
    if device.startswith("cuda"):
        index.to_device(device)   # similarity and patch matching on the GPU, next to the model
    return index


def match(run_dir: str | Path, library_dir: str | Path, settings: Settings, *, ctx: Any = None,
          secrets: Secrets | None = None) -> CandidateSet:
    """Candidates for every object of the run's observation; commits ``run_dir/candidates.json``.

    The run folder is checked first: it must exist, its perception files must match the hashes
    in ``stages.json`` (a half-written or hand-mixed folder is refused with a typed error) and it
    must be writable — all before the library is opened. ``secrets`` (default: from the
    environment) decides whether textures are chosen by the VLM.
    """
    run = RunFolder(run_dir)
    if not run.path.is_dir():
        raise BadInputError(f"Run folder {run.path} does not exist.", _RERUN_FIX)
    notes = run.require(OBSERVATION_STAGES, rerun_fix=_RERUN_FIX)
    inputs = sorted({f for s in OBSERVATION_STAGES if s in run.records for f in run.records[s].files})
    with run.begin("match") as txn:
        result, absorbed = _match(run.path, library_dir, settings, ctx, secrets, notes)
        if absorbed is not None:  # composites absorbed parts: the observation's edit is committed first
            from ..perception.verdicts import commit_observation_edit

            commit_observation_edit(run.path, absorbed)
            txn.run = RunFolder(run.path)  # commit on top of the re-recorded observation stage
        key = match_key(run.path, library_dir, settings, secrets)  # after the edit: what a re-run will compute
        result.save(txn.file("candidates.json"))
        txn.put("match", key, ["candidates.json"], inputs=inputs)
        txn.commit()
    return result


def _match(run_dir: Path, library_dir: str | Path, settings: Settings, ctx: Any, secrets: Secrets | None,
           notes: list[str]) -> tuple[CandidateSet, Observation | None]:
    """The candidates, and the observation when composites absorbed objects in it (else None)."""
    rs = settings.retrieval
    step = _Steps(ctx)

    step(0.0, "reading the observation")
    obs = load_observation(run_dir)
    image = load_image(run_dir, obs)
    objects, more = observed_objects(run_dir, obs, image.shape[:2])
    notes += more

    step(0.05, "opening the library")
    store = store_access.open_store(library_dir)
    catalogue, more = store_access.load_library_catalogue(library_dir)
    assets = dict(catalogue.assets)
    notes += more
    vocabulary, more = store_access.library_vocabulary(catalogue, settings)
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
    index = _template_index(store, embedder, source)

    step(0.4, f"embedding {len(objects)} object crop(s)")
    crops = [make_crop(image, o.mask, embedder.input_size) for o in objects]
    feats = embedder.embed(crops) if crops else {"global": np.zeros((0, 1)), "patch": np.zeros((0, 1, 1))}
    mirror = embedder.embed([c.flipped() for c in crops]) if crops and rs.mirror_views else None
    step.check()

    queries = [Query(o.obj.id, o.obj.label, feats["global"][i], feats["patch"][i],
                     None if o.obj.box is None else np.asarray(o.obj.box.size, dtype=np.float64), o.obj.group)
               for i, o in enumerate(objects)]
    retriever = Retriever(index, assets, vocabulary, rs)
    unmatched: dict[str, str] = {}  # object id → why no asset fits (its placeholder's note says it)

    def _unmatched(q: Query, exc: NoCandidatesError) -> None:
        if rs.strict_labels:
            raise exc
        unmatched[q.object_id] = exc.message.rstrip(". ")
        step.note(f"{q.object_id}: {exc.message}")

    def _rank_progress(i: int, n: int) -> None:
        step(0.45 + 0.35 * i / max(n, 1), f"retrieval {i}/{n}")

    ranked = retriever.rank(queries, on_error=_unmatched, step=_rank_progress)

    candidates = []
    for i, o in enumerate(objects):
        step.check()
        assets_i = ranked.get(o.obj.id, [])
        if not assets_i:
            cand, note = placeholder_candidate(o.obj, unmatched.get(o.obj.id, "no candidate asset"),
                                               box_hypotheses(o.obj.box) if o.obj.box else [])
            candidates.append(cand)
            notes.append(note)
            continue
        mirrored = None if mirror is None else (mirror["global"][i], mirror["patch"][i])
        poses, _ = estimate_pose(index, assets_i[0].asset_id, obs.camera, feats["global"][i], feats["patch"][i],
                                 box=o.obj.box, pixel=o.centroid, mirrored=mirrored,
                                 small_object_m=rs.small_object_m, max_views=rs.pose_views,
                                 asset_size=_size(assets.get(assets_i[0].asset_id)))
        candidates.append(Candidate(o.obj.id, assets_i, poses))
    # Objects perception could not mask still get an entry: a placeholder box (the box's yaws if it has one).
    seen = {c.object_id for c in candidates}
    for obj in obs.graph.objects:
        if obj.id not in seen:
            cand, note = placeholder_candidate(obj, "no mask to compare its look",
                                               box_hypotheses(obj.box) if obj.box else [])
            candidates.append(cand)
            notes.append(note)
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
    absorbed = _absorb_composites(obs, result, catalogue, vocabulary)
    step(1.0, f"matched {sum(1 for c in candidates if c.assets and c.assets[0].asset_id in assets)} of "
              f"{len(obs.graph.objects)} object(s)")
    return result, absorbed


def _absorb_composites(obs: Observation, result: CandidateSet, catalogue: Any, vocabulary: Any) -> Observation | None:
    """Objects inside a composite asset chosen for another object become removed (the observation, edited)."""
    from ..perception.composite import apply_composites

    if not any(catalogue.is_composite(a) for a in catalogue.assets):
        return None
    return obs if apply_composites(obs, result, catalogue, vocabulary) else None
