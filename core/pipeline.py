"""The one place where the stages are wired together: image → Observation → Candidates → Layout.

Read :func:`image_to_room` top to bottom: it is the recipe. Each stage is also a function of its
own, so every caller runs the same code and none re-wires the order:

* the command line (``python -m core room``) and scripts call :func:`image_to_room`;
* Blender's From Image runs ``perceive`` and ``match`` in the worker (torch lives there), then
  calls :func:`fit_stage` and :func:`solve_stage` in its own process (mathutils lives there);
* a batch runner calls the stages it needs.

The run folder is the cache (:mod:`core.runfolder`): every stage records in ``stages.json`` its
key (what it read: input files' contents, the library, the settings it uses) and the sha256 of
the files it committed. A stage whose key is unchanged and whose files are intact is not run
again; ``clean`` runs every stage. Outputs are committed atomically, so a failed stage leaves the
previous good result in place. The fit adds ``Candidate.fit`` to candidates.json, so it commits
that file as the match stage's output too (same match key, new hash). A layout re-optimised in
Blender is committed as the solve stage's output (:func:`commit_layout`), so a re-run keeps it.

Nothing here imports torch or bpy at module level: the model stages import what they need
when they run, and the solver loads Blender's mathutils only when it solves.
"""
from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import Secrets, Settings
from .errors import BadInputError, LibraryError
from .runfolder import OBSERVATION_STAGES, RunFolder, ensure_run_id, stage_key
from .schema import CandidateSet, Layout, Observation

if TYPE_CHECKING:
    from .layout.problem import LayoutProblem

PROGRESS_SPANS = {"perceive": (0.0, 0.6), "match": (0.6, 0.9), "fit": (0.9, 0.97), "solve": (0.97, 1.0)}


def image_to_room(image: str | os.PathLike[str], run_dir: str | os.PathLike[str],
                  library_dir: str | os.PathLike[str], settings: Settings | None = None,
                  secrets: Secrets | None = None, *, depth: str | os.PathLike[str] | None = None,
                  intrinsics: tuple[float, float, float, float] | None = None, fov_deg: float | None = None,
                  detections: str | os.PathLike[str] | None = None, labels: list[str] | None = None,
                  ctx: Any = None, clean: bool = False) -> Layout:
    """One image → a solved room in ``run_dir`` (observation.json, candidates.json, layout.json).

    ``depth``, ``intrinsics``/``fov_deg`` and ``detections`` replace the models' guesses with the
    user's own data; ``secrets`` (default: from the environment) enable the cloud models; ``ctx``
    (a worker JobContext, or None) receives progress and may cancel between steps.
    """
    settings = settings or Settings()
    secrets = secrets if secrets is not None else Secrets.gather()
    perceive_stage(image, run_dir, settings, secrets, depth=depth, intrinsics=intrinsics, fov_deg=fov_deg,
                   detections=detections, labels=labels, library_dir=library_dir, ctx=_span(ctx, "perceive"),
                   clean=clean)
    match_stage(run_dir, library_dir, settings, secrets, ctx=_span(ctx, "match"), clean=clean)
    fit_stage(run_dir, library_dir, settings, ctx=_span(ctx, "fit"), clean=clean)
    return solve_stage(run_dir, library_dir, settings, ctx=_span(ctx, "solve"), clean=clean)


def perceive_stage(image: str | os.PathLike[str], run_dir: str | os.PathLike[str], settings: Settings | None = None,
                   secrets: Secrets | None = None, *, depth: str | os.PathLike[str] | None = None,
                   intrinsics: tuple[float, float, float, float] | None = None, fov_deg: float | None = None,
                   detections: str | os.PathLike[str] | None = None, labels: list[str] | None = None,
                   library_dir: str | os.PathLike[str] | None = None, ctx: Any = None,
                   clean: bool = False) -> Observation:
    """Camera, depth, room planes, objects and scene graph → ``run_dir/observation.json`` (cached per step).

    ``library_dir``: the detector looks for the library's classes (or what the VLM sees, in the
    library's words) and the VLM's size verdicts use its sizes; without it, a built-in label list.
    """
    from .perception.pipeline import perceive

    return perceive(image, run_dir, settings or Settings(), secrets if secrets is not None else Secrets.gather(),
                    depth_path=depth, intrinsics=intrinsics, detections_path=detections, fov_deg=fov_deg,
                    labels=labels, library=library_dir, ctx=ctx, clean=clean)


def match_stage(run_dir: str | os.PathLike[str], library_dir: str | os.PathLike[str],
                settings: Settings | None = None, secrets: Secrets | None = None, *, ctx: Any = None,
                clean: bool = False) -> CandidateSet:
    """Ranked assets, pose hypotheses and textures per object → ``run_dir/candidates.json`` (cached).

    Labels no library asset fits become placeholders (labelled boxes, with a note); objects a
    composite asset already contains are marked removed in observation.json (both in :func:`match`).
    """
    from .matching.pipeline import match, match_key

    settings = settings or Settings()
    secrets = secrets if secrets is not None else Secrets.gather()
    run = RunFolder(run_dir)
    if not clean and run.cached("match", match_key(run.path, library_dir, settings, secrets))[0]:
        return CandidateSet.load(run.path / "candidates.json")
    return match(run.path, library_dir, settings, ctx=ctx, secrets=secrets)


def fit_stage(run_dir: str | os.PathLike[str], library_dir: str | os.PathLike[str],
              settings: Settings | None = None, *, ctx: Any = None, clean: bool = False) -> CandidateSet:
    """Fit each object's best asset to its observed points (``Candidate.fit``) → candidates.json.

    The one call site of the fit, between match and solve; the solver starts from the fit.
    """
    from .layout.fit import fit_candidates

    run, settings = RunFolder(run_dir), settings or Settings()
    candidates = CandidateSet.load(run.path / "candidates.json")
    match_rec = run.records.get("match")
    key = stage_key("fit", match_rec.key if match_rec else run.current_hash("candidates.json"),
                    _library_state(library_dir), settings.layout.max_scale_change)
    if not clean and run.cached("fit", key)[0]:
        return candidates  # candidates.json is the fitted file this key produced
    observation = Observation.load(run.path / "observation.json")
    depth = load_depth(run.path, observation)
    if depth is None:  # a folder assembled without depth: the solver starts from the boxes and its notes say so
        return candidates
    if ctx is not None:
        ctx.progress(0.0, "fitting each asset to its object's points")
    fitted = fit_candidates(observation, candidates, load_catalogue(library_dir), library_proxies(library_dir),
                            depth, run.path, max_change=settings.layout.max_scale_change)
    inputs = [f for f in ("observation.json", "depth.npy") if (run.path / f).is_file()]
    with run.begin("fit") as txn:
        fitted.save(txn.file("candidates.json"))
        txn.put("fit", key, ["candidates.json"], inputs=inputs)
        if match_rec is not None:  # the fitted file is the match stage's output from now on
            txn.put("match", match_rec.key, ["candidates.json"], inputs=list(match_rec.inputs))
        txn.drop("solve")
        txn.commit()
    if ctx is not None:
        ctx.progress(1.0, f"fitted {sum(1 for c in fitted.candidates if c.fit)} object(s)")
    return fitted


def solve_stage(run_dir: str | os.PathLike[str], library_dir: str | os.PathLike[str],
                settings: Settings | None = None, *, ctx: Any = None, clean: bool = False) -> Layout:
    """Place the chosen assets by the scene graph's rules without collisions → ``run_dir/layout.json``.

    Needs Blender's mathutils (inside Blender, or the ``bpy`` wheel). A cached layout is returned as
    it is, so a layout re-optimised in Blender since (and committed by :func:`commit_layout`) is what a
    re-run gives back.
    """
    from .layout.solver import solve

    run, settings = RunFolder(run_dir), settings or Settings()
    if not clean and run.cached("solve", solve_key(run.path, library_dir, settings))[0]:
        return Layout.load(run.path / "layout.json")
    if ctx is not None:
        ctx.progress(0.0, "solving the layout")
    layout = solve(load_problem(run.path, library_dir, settings))
    commit_layout(run.path, layout, library_dir, settings)
    if ctx is not None:
        ctx.progress(1.0, f"placed {len(layout.placements)} object(s)")
    return layout


def commit_layout(run_dir: str | os.PathLike[str], layout: Layout, library_dir: str | os.PathLike[str],
                  settings: Settings | None = None) -> None:
    """Commit ``layout`` as the run's solve-stage output (a solve, a re-optimise, a physics settle)."""
    run = RunFolder(run_dir)
    key = solve_key(run.path, library_dir, settings or Settings())
    with run.begin("solve") as txn:
        layout.save(txn.file("layout.json"))
        txn.put("solve", key, ["layout.json"], inputs=["observation.json", "candidates.json"])
        txn.commit()


def load_problem(run_dir: str | os.PathLike[str], library_dir: str | os.PathLike[str],
                 settings: Settings | None = None) -> LayoutProblem:
    """The run's LayoutProblem from observation.json, candidates.json and the library (proxies if built).

    The folder is checked first: perception's and matching's files must be the ones they committed.
    """
    from .layout.problem import build_problem

    run = RunFolder(run_dir)
    for name, stage in (("observation.json", "perceive"), ("candidates.json", "match")):
        if not (run.path / name).is_file():
            raise BadInputError(f"{run.path / name} does not exist.",
                                f"Run the {stage} stage first (python -m core {stage} …, "
                                "or python -m core room …).")
    needed = OBSERVATION_STAGES + ("match",)
    if any(stage in run.records for stage in needed) or run.state in ("unreadable", "legacy"):
        notes = run.require(needed, rerun_fix="Run the room again on this folder (python -m core room IMAGE --out "
                                              "RUN --library DIR), or From Image in Blender.")
    else:  # assembled by hand or by another tool: nothing to check the files against
        notes = [f"{run.path} has no record of perception or matching: its observation and candidates "
                 "are used unchecked."]
    proxies = library_proxies(library_dir)
    problem = build_problem(Observation.load(run.path / "observation.json"),
                            CandidateSet.load(run.path / "candidates.json"), load_catalogue(library_dir), proxies,
                            settings=(settings or Settings()).layout)
    problem.run_id = ensure_run_id(run.path)
    problem.notes[:0] = notes
    if proxies is None:
        problem.notes.append("the library has no derived data: every asset collides as its bounding box "
                             "(build it with scripts/build_library.py for true shapes)")
    return problem


def load_catalogue(library_dir: str | os.PathLike[str]) -> Any:
    from .library.catalogue import load_catalogue as load

    return load(library_dir)


def library_proxies(library_dir: str | os.PathLike[str]) -> Any:
    """The library's derived-data store (collision proxies), or None when it is not built."""
    from .library.store import FeatureStore

    try:
        return FeatureStore.open(Path(library_dir) / "derived")
    except LibraryError:
        return None


def load_depth(run_dir: Path, observation: Observation) -> np.ndarray | None:
    """The run's depth in metres (float32 [H, W] at the camera's image size), or None when it has none.

    Read by perception's own checked reader, so a depth of another size or type is an error naming
    the file, not a fit against misaligned masks."""
    from .perception.depth_io import load_run_depth

    return load_run_depth(run_dir, observation)


def solve_key(run_dir: Path, library_dir: str | os.PathLike[str], settings: Settings) -> str:
    """What solving read: the observation, the candidates, the library's catalogue and proxies, the settings."""
    run = RunFolder(run_dir)
    return stage_key("solve", run.current_hash("observation.json"), run.current_hash("candidates.json"),
                     _library_state(library_dir), asdict(settings.layout))


def _library_state(library_dir: str | os.PathLike[str]) -> list[str | None]:
    """The catalogue's content and the derived store's committed index: what a stage read of the library."""
    from .matching.pipeline import library_state

    return library_state(library_dir)


# -- progress ----------------------------------------------------------------------------------------------
class _Span:
    """A JobContext seen by one stage: its 0..1 maps onto the stage's part of the whole run."""

    def __init__(self, ctx: Any, stage: str) -> None:
        self.ctx, self.stage = ctx, stage
        self.lo, self.hi = PROGRESS_SPANS[stage]

    def progress(self, fraction: float, message: str = "") -> None:
        self.ctx.progress(self.lo + (self.hi - self.lo) * max(0.0, min(1.0, float(fraction))),
                          f"{self.stage}: {message}" if message else self.stage)

    def __getattr__(self, name: str) -> Any:  # log, check_cancelled, cancelled, wait: as the real context
        return getattr(self.ctx, name)


def _span(ctx: Any, stage: str) -> Any:
    return None if ctx is None else _Span(ctx, stage)
