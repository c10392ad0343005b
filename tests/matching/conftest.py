"""Session fixtures for matching: one bpy run renders the primitive assets' templates and the test scenes."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from . import fixtures as fx


@dataclass
class Rendered:
    root: Path
    templates: Path
    scenes: list[list[fx.Placed]]
    runs: list[Path]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Templates of every fixture asset (3 views) and three scenes with known assets, yaws and groups."""
    root = tmp_path_factory.mktemp("matching_render")
    scenes = fx.random_scenes(3, seed=7)
    runs = [root / f"scene{i}" for i in range(len(scenes))]
    jobs = fx.template_jobs(root / "templates") + [fx.scene_job(r, s) for r, s in zip(runs, scenes)]
    fx.run_bpy(jobs, root)
    rng = np.random.default_rng(0)
    for r, s in zip(runs, scenes):
        fx.write_observation(r, s, rng)
        (r / "truth.json").write_text(json.dumps([p.__dict__ for p in s]))
    return Rendered(root, root / "templates", scenes, runs)
