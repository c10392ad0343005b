"""The stages of one batch room as plain functions; ``rooms.py`` runs them as Ray tasks.

Each returns plain data (JSON text, bytes), never writes into the output folder: the driver is the
only writer. Stages with different resources are different functions, so a GPU never waits for
Blender: ``prompt_image`` (GPU: FLUX), ``photo_layout`` (models: GPU when there is one),
``generator_layout`` (CPU, instant), ``render_room`` (CPU: a Blender child).
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from .blender_child import run_blender
from .room_files import write_room_images


def describe(labels: list[str], kind: str) -> str:
    """A caption like 'a bedroom with a double bed, 2 nightstands and a rug' (for meta and LoRA data)."""
    counts = Counter(label.replace("_", " ") for label in labels)
    parts = [f"{n} {label}s" if n > 1 else f"a {label}" for label, n in sorted(counts.items(), key=lambda x: -x[1])]
    what = kind.replace("_", " ")
    if not parts:
        return f"an empty {what}"
    items = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"a {what} with {items}"


def generator_layout(library: str, room: str, seed: int, max_objects: int | None = None) -> dict[str, Any]:
    """A seeded ground-truth room: its layout, scene graph and caption (JSON-able)."""
    from ..layout.room_generator import generate_room
    from ..library.catalogue import load_catalogue

    layout, graph = generate_room(load_catalogue(library), seed, room, max_objects=max_objects)
    labels = {o.id: o.label for o in graph.objects}
    return {"layout": layout.to_json(), "graph": graph.to_dict(), "labels": labels,
            "description": describe(list(labels.values()), room), "notes": list(layout.notes)}


def prompt_image(prompt: str, seed: int) -> bytes:
    """FLUX.1-dev (with the configured LoRA, size and steps from settings) → PNG bytes.

    Needs the weights (Preferences → Imaginarium → Models). The engine stays warm in this Ray
    worker between rooms, as it does in the add-on's worker.
    """
    import io

    from ..config import Settings
    from ..t2i.options import GenerationOptions
    from ..t2i.worker_op import engine_config
    from ..t2i.engine import T2IEngine

    settings = Settings.load()
    config = engine_config({}, settings)
    global _ENGINE
    if _ENGINE is None or _ENGINE[0] != config.key():
        _ENGINE = (config.key(), T2IEngine.from_config(config))
    t = settings.t2i
    image = _ENGINE[1].generate(GenerationOptions(prompt=prompt, width=t.width, height=t.height, steps=t.steps,
                                                  guidance=t.guidance, seed=seed))[0]
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


_ENGINE: Any = None


def photo_layout(library: str, photo: dict[str, Any], image_png: bytes | None = None) -> dict[str, Any]:
    """A photo (or a generated image) through ``core.pipeline.image_to_room``; the run folder is temporary."""
    from ..pipeline import image_to_room
    from ..schema import Observation

    with tempfile.TemporaryDirectory(prefix="imaginarium-batch-run-") as tmp:
        image = photo.get("image")
        if image_png is not None:
            image = str(Path(tmp) / "prompt.png")
            Path(image).write_bytes(image_png)
        run_dir = Path(tmp) / "run"
        layout = image_to_room(image, run_dir, library, depth=photo.get("depth"), detections=photo.get("detections"),
                               intrinsics=tuple(photo["intrinsics"]) if photo.get("intrinsics") else None,
                               fov_deg=photo.get("fov"))
        observation = Observation.load(run_dir / "observation.json")
        labels = {o.id: o.label for o in observation.graph.objects}
        return {"layout": layout.to_json(), "graph": observation.graph.to_dict(), "labels": labels,
                "description": describe([labels[p.object_id] for p in layout.placements if p.object_id in labels], "room"),
                "notes": list(observation.notes) + list(layout.notes),
                "image": image_png if image_png is not None else Path(image).read_bytes()}


def _metrics(layout: Any, library: str) -> dict[str, Any]:
    from ..layout.metrics import evaluate
    from ..layout.problem import problem_from_layout
    from ..library.catalogue import load_catalogue
    from ..library.store import FeatureStore

    catalogue = load_catalogue(library)
    try:
        proxies = FeatureStore.open(Path(library) / "derived")
    except Exception:  # no derived data: boxes stand in for proxies (the metrics say less, but exist)
        proxies = None
    return evaluate(layout, problem_from_layout(layout, catalogue, proxies))


def meta_record(name: str, kind: str, staged: dict[str, Any], instance_ids: dict[str, int],
                metrics: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """``<name>_meta.json``: caption or prompt, scene graph, every object's asset, pose and scale, metrics."""
    from ..schema import Layout

    layout = Layout.from_json(staged["layout"])
    objects = []
    for p in layout.placements:
        objects.append({"id": p.object_id, "label": staged["labels"].get(p.object_id, ""), "asset_id": p.asset_id,
                        "transform": [list(map(float, row)) for row in p.transform], "scale": list(p.scale),
                        "relation": str(p.relation), "parent": p.parent, "box": p.box.to_dict() if p.box else None,
                        "instance_id": instance_ids.get(p.object_id, 0), "notes": list(p.notes)})
    return {"name": name, "kind": kind, "description": staged.get("description", ""),
            "prompt": spec.get("prompt"), "spec": spec, "scene_graph": staged.get("graph"),
            "camera": layout.camera.to_dict() if layout.camera else None, "objects": objects,
            "metrics": metrics, "notes": staged.get("notes", [])}


def render_room(staged: dict[str, Any], library: str, name: str, kind: str, spec: dict[str, Any],
                width: int, height: int, samples: int) -> dict[str, bytes]:
    """Build and render the room in a Blender child; return every file of its folder as bytes."""
    from ..schema import Layout

    with tempfile.TemporaryDirectory(prefix="imaginarium-batch-room-") as tmp:
        work = Path(tmp)
        layout_path = work / "layout.json"
        layout_path.write_text(staged["layout"], encoding="utf-8")
        # one CPU per render task (its Ray reservation): Cycles and Mesa use exactly that, so N workers scale N-fold
        run_blender("batch_room_blender.py", [str(layout_path), str(library), str(work), name, "--width", str(width),
                                              "--height", str(height), "--samples", str(samples), "--threads", "1"],
                    env={"LP_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        room = work / "room"
        room.mkdir()
        (work / f"{name}.blend").replace(room / f"{name}.blend")
        instance_ids = write_room_images(work / "passes", room, name, staged["labels"])
        metrics = _metrics(Layout.from_json(staged["layout"]), library)
        meta = meta_record(name, kind, staged, instance_ids, metrics, spec)
        (room / f"{name}_meta.json").write_text(json.dumps(meta, indent=1, default=str), encoding="utf-8")
        if staged.get("image"):
            (room / f"{name}_input.png").write_bytes(staged["image"])
        return {p.name: p.read_bytes() for p in sorted(room.iterdir()) if p.is_file()}
