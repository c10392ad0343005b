"""The VLM's verdicts act: keep = false removes, plausible_size = false refines the size, groups need look-alikes.

Why: a verdict that only lowers a confidence nothing reads changes nothing. Here

* **keep = false** sets ``SceneObject.removed`` (the object stays in the run, is not placed, and the
  Selected Object panel lists it with *Restore*: :func:`restore_object`);
* **plausible_size = false** replaces the measured box size by the library's typical size for the
  object's class (median of its assets' ``bbx``), keeping the box's bottom and centre — the box was
  measured from depth and the VLM says it is off (a depth error, two objects merged);
* **geometric groups** (same label, every side within 20 %) stay groups only when the objects' crops
  also look alike: the global embeddings of their masked crops (the matching embedders: DINOv2, or
  the weight-free classical one) must be at least :data:`LOOK_ALIKE` similar, so two different
  armchairs are never forced onto one asset.

An object the artist restored carries :data:`RESTORED_NOTE` and is never removed again.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ..errors import BadInputError
from ..schema import Box3D, Observation, SceneGraph, SceneObject

RESTORED_NOTE = "restored by the artist"
KEEP_FALSE = "the VLM judged it is not really there (keep = false)"
SIZE_NOTE = "size refined"
# Cosine of global crop embeddings above which two crops "look alike". Classical: measured on the three
# labelled SUN RGB-D frames (box crops), different objects score 0.68-0.94 (median 0.85) and a jittered crop
# of one object 0.97-1.0 — the weight-free embedder separates poorly, so its bar is high. DINOv2: not
# measured here (no weights on this machine); 0.75 is a starting value, to be checked on real pairs.
LOOK_ALIKE = {"dinov2": 0.75, "classical": 0.92}
LOOK_ALIKE_DEFAULT = 0.9
SizePrior = Callable[[str], "tuple[tuple[float, float, float], str] | None"]


def is_restored(obj: SceneObject) -> bool:
    return any(n.startswith(RESTORED_NOTE) for n in obj.notes)


def apply_verdicts(graph: SceneGraph, answer: Any, size_prior: SizePrior | None = None) -> list[str]:
    """Apply keep / plausible_size from a :class:`~core.perception.protocols.VlmAnswer`; returns run notes."""
    if answer is None:
        return []
    notes: list[str] = []
    objs = graph.by_id()
    for oid, ans in answer.objects.items():
        obj = objs.get(oid)
        if obj is None or is_restored(obj):
            continue
        if ans.keep is False and obj.removed is None:
            obj.removed = KEEP_FALSE
            obj.notes.append(f"removed: {KEEP_FALSE}; restore it from the Selected Object panel")
            notes.append(f"{oid} ({obj.label}) removed: {KEEP_FALSE}")
        if ans.plausible_size is False:
            note = refine_size(obj, size_prior)
            obj.notes.append(note)
            notes.append(f"{oid}: {note}")
    return notes


def refine_size(obj: SceneObject, size_prior: SizePrior | None) -> str:
    """Give ``obj`` its class's typical size (bottom and centre kept); the note says what changed."""
    if obj.box is None:
        return f"{SIZE_NOTE}: the VLM finds the size implausible, but no 3D box was measured"
    found = size_prior(obj.label) if size_prior is not None else None
    measured = "×".join(f"{s:.2f}" for s in obj.box.size)
    if found is None:
        return (f"{SIZE_NOTE}: the VLM finds the measured {measured} m implausible; the library has no size for "
                f"{obj.label!r}, so the asset's own size decides")
    prior, source = found
    sx, sy, sz = obj.box.size
    w, d, h = sorted(prior[:2], reverse=True) + [prior[2]]
    size = (w, d, h) if sx >= sy else (d, w, h)
    cx, cy, cz = obj.box.center
    bottom = cz - sz / 2
    obj.box = Box3D((cx, cy, bottom + h / 2), size, obj.box.yaw)
    return (f"{SIZE_NOTE}: the VLM finds the measured {measured} m implausible; now {source} "
            + "×".join(f"{s:.2f}" for s in size) + " m")


def size_prior_from_records(records: Iterable[Any], vocabulary: Any) -> SizePrior:
    """label → (median size of the label's class's assets, where it came from), via the vocabulary.

    Why this is not :class:`core.library.priors.SizePriors` (which the 3D boxes use): a
    ``plausible_size = false`` verdict *replaces* a measured box, so it may only take a size from
    assets this library can place. Here a label answers only when the library vocabulary resolves
    it, and then from that exact class (its ``class_name`` when the match is specific, else its
    ``retrieval_class``), as the raw median of every asset; otherwise None, and the asset's own size
    decides. ``SizePriors`` serves amodal completion instead, where any reasonable size beats none:
    it merges class and retrieval class by normalised name, drops assets 4× off their class median,
    rounds to 0.1 mm, and falls back to the shipped table, typical household sizes and text
    similarity. The two disagree on many class names of the published catalogue, so routing this
    through ``SizePriors`` would change the sizes the pipeline writes; unify them only as a measured
    change.
    """
    by_class: dict[str, list[tuple[float, ...]]] = {}
    by_ret: dict[str, list[tuple[float, ...]]] = {}
    for r in records:
        by_class.setdefault(r.class_name, []).append(tuple(r.size))
        by_ret.setdefault(r.retrieval_class, []).append(tuple(r.size))

    def prior(label: str) -> tuple[tuple[float, float, float], str] | None:
        match = vocabulary.lookup(label)
        if match is None:
            return None
        sizes, name = (by_class.get(match.class_name), match.class_name) if match.specific else (None, "")
        if not sizes:
            sizes, name = by_ret.get(match.retrieval_class), match.retrieval_class
        if not sizes:
            return None
        med = tuple(statistics.median(s[i] for s in sizes) for i in range(3))
        return med, f"the median size of the library's {len(sizes)} {name} asset(s)"  # type: ignore[return-value]
    return prior


# ---- groups that must also look alike --------------------------------------------------------
def crop_features(rgb: np.ndarray, masks: Mapping[str, np.ndarray], embedder: Any) -> dict[str, np.ndarray]:
    """Global embedding of each object's masked square crop (the form matching uses)."""
    from ..matching.crops import make_crop

    ids = [oid for oid, m in masks.items() if m is not None and m.any()]
    if not ids:
        return {}
    crops = [make_crop(rgb, masks[oid], embedder.input_size) for oid in ids]
    glob = embedder.embed(crops)["global"]
    return {oid: np.asarray(glob[i], np.float32) for i, oid in enumerate(ids)}


def look_alike_threshold(embedder_name: str) -> float:
    return next((v for k, v in LOOK_ALIKE.items() if embedder_name.startswith(k)), LOOK_ALIKE_DEFAULT)


def gate_groups(graph: SceneGraph, features: Mapping[str, np.ndarray], threshold: float,
                only: Iterable[str] | None = None) -> list[str]:
    """Split groups whose members do not look alike (cosine of crop features below ``threshold``).

    Members are linked when they look alike; each linked set of two or more keeps a group (the
    largest keeps the name), a member alike to no other leaves the group. Members without
    features keep their group (nothing says they differ). ``only``: group names to check.
    """
    wanted = None if only is None else set(only)
    groups: dict[str, list[SceneObject]] = {}
    for o in graph.objects:
        if o.group and (wanted is None or o.group in wanted):
            groups.setdefault(o.group, []).append(o)
    notes: list[str] = []
    for name, members in groups.items():
        have = [m for m in members if m.id in features]
        if len(have) < 2:
            continue
        vec = np.stack([features[m.id] / max(float(np.linalg.norm(features[m.id])), 1e-12) for m in have])
        sim = vec @ vec.T
        parts = _components(sim >= threshold)
        if len(parts) == 1:
            continue
        parts.sort(key=len, reverse=True)
        for k, part in enumerate(parts):
            new = name if k == 0 else f"{name}_{k}"
            for i in part:
                obj = have[i]
                others = [j for j in range(len(have)) if j != i]
                best = max(float(sim[i, j]) for j in others)
                if len(part) == 1:
                    obj.group = None
                    obj.notes.append(f"left group {name}: same label and size, but its crop looks different "
                                     f"(similarity {best:.2f} < {threshold:.2f})")
                elif new != name:
                    obj.group = new
                    obj.notes.append(f"group {name} split by appearance: now {new}")
        notes.append(f"group {name} split by appearance into {[[have[i].id for i in p] for p in parts]}")
    return notes


def _components(adj: np.ndarray) -> list[list[int]]:
    n = len(adj)
    seen: set[int] = set()
    out = []
    for s in range(n):
        if s in seen:
            continue
        stack, comp = [s], []
        seen.add(s)
        while stack:
            i = stack.pop()
            comp.append(i)
            for j in np.nonzero(adj[i])[0]:
                if int(j) not in seen:
                    seen.add(int(j))
                    stack.append(int(j))
        out.append(sorted(comp))
    return out


# ---- removed objects: list and restore (used by the Selected Object panel) -------------------
def removed_objects(observation: Observation) -> list[dict[str, str]]:
    """Objects kept in the run but not placed: id, label and why."""
    return [{"object_id": o.id, "label": o.label, "reason": o.removed or ""}
            for o in observation.graph.objects if o.removed]


def restore_object(run_dir: str | Path, object_id: str) -> Observation:
    """Clear ``removed`` of one object in the run's observation.json (atomically) and note the restore."""
    path = Path(run_dir) / "observation.json"
    if not path.is_file():
        raise BadInputError(f"The run folder {run_dir} has no observation.json.",
                            "Build the room again from the From Image section.")
    obs = Observation.load(path)
    obj = obs.graph.by_id().get(object_id)
    if obj is None or not obj.removed:
        raise BadInputError(f"Object {object_id!r} is not a removed object of this run.",
                            "Pick one from the list of removed objects in the Selected Object panel.")
    obj.notes.append(f"{RESTORED_NOTE} (it had been removed: {obj.removed})")
    obj.removed = None
    commit_observation_edit(run_dir, obs)
    return obs


def commit_observation_edit(run_dir: str | Path, observation: Observation) -> None:
    """Write an edited observation.json as part of the committed run (a decision about the data, not new data).

    The run folder vouches for each stage's files by hash (``stages.json``); writing the file directly
    would make perception's stage look damaged and every later stage stale. So the edit is committed
    through a transaction that re-records the observation stage with the new file and re-vouches the
    stages that read it (matching ranks removed objects too, so their results stay valid). A folder
    without stage records (assembled by hand) is simply written.
    """
    import shutil

    from ..runfolder import RunFolder

    run = RunFolder(run_dir)
    rec = run.records.get("observation")
    if rec is None:
        observation.save(run.path / "observation.json")
        return
    readers = {name: r for name, r in run.records.items() if name != "observation" and "observation.json" in r.inputs}
    with run.begin("observation-edit") as txn:
        observation.save(txn.file("observation.json"))
        for r in (rec, *readers.values()):
            for rel in r.files:
                if rel != "observation.json" and not txn.file(rel).exists():
                    shutil.copy2(run.path / rel, txn.file(rel))
        txn.put("observation", rec.key, list(rec.files), inputs=list(rec.inputs))
        for name, r in readers.items():
            txn.put(name, r.key, list(r.files), inputs=list(r.inputs))
        txn.commit(last=["observation.json"])
