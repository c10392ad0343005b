"""Building the problem: relations from the scene graph, groups, proxies, and the errors that say what to do."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from imaginarium.core.layout import build_problem, mathutils_loader
from imaginarium.core.layout.errors import LayoutError
from imaginarium.core.schema import Candidate, CandidateSet, RankedAsset

from .helpers import asset, obj, scene, shelf_spaces

ASSETS = {a.id: a for a in [asset("shelf", (1.0, 0.4, 1.6), spaces=shelf_spaces()), asset("book", (0.05, 0.25, 0.3)),
                            asset("table", (1.2, 0.8, 0.75)), asset("lamp", (0.3, 0.3, 0.5)),
                            asset("chair_a", (0.5, 0.5, 0.9)), asset("chair_b", (0.5, 0.5, 0.9)),
                            asset("tv", (1.2, 0.1, 0.7)), asset("picture", (0.8, 0.03, 0.6))]}


def test_relations_follow_the_scene_graph() -> None:
    objects = [obj("shelf", (0, 1.8, 0.8), (1.0, 0.4, 1.6), against_walls=["wall_0"]),
               obj("book", (0, 1.8, 0.5), (0.05, 0.25, 0.3), support="shelf"),       # below the top: inside
               obj("book_top", (0, 1.8, 1.75), (0.05, 0.25, 0.3), support="shelf"),  # above the top: on it
               obj("table", (0, 0, 0.375), (1.2, 0.8, 0.75)),
               obj("lamp", (0, 0, 1.0), (0.3, 0.3, 0.5), support="table"),
               obj("picture", (1.99, 0, 1.5), (0.8, 0.03, 0.6), hanging_on_wall=True, against_walls=["wall_1"]),
               obj("light", (0, 0, 2.6), (0.3, 0.3, 0.2), hanging_from_ceiling=True, support=None)]
    choices = {"shelf": "shelf", "book": "book", "book_top": "book", "table": "table", "lamp": "lamp",
               "picture": "picture", "light": "lamp"}
    problem = build_problem(*scene(objects, choices), ASSETS)
    got = {i.id: (i.relation, i.parent, i.walls) for i in problem.items}
    assert got == {"shelf": ("against_wall", "floor", ["wall_0"]), "book": ("in", "shelf", []),
                   "book_top": ("on", "shelf", []), "table": ("floor", "floor", []), "lamp": ("on", "table", []),
                   "picture": ("wall_hung", "wall_1", ["wall_1"]), "light": ("ceiling_hung", "ceiling", [])}
    order = [i.id for i in problem.items]
    assert order.index("shelf") < order.index("book") and order.index("table") < order.index("lamp")


def test_a_group_takes_the_asset_most_members_ranked_first() -> None:
    objects = [obj(f"c{k}", (k, 0, 0.45), (0.5, 0.5, 0.9), group="chairs") for k in range(3)]
    obs, _ = scene(objects, {f"c{k}": "chair_a" for k in range(3)})
    cands = CandidateSet([Candidate("c0", [RankedAsset("chair_b", 0.9), RankedAsset("chair_a", 0.8)]),
                          Candidate("c1", [RankedAsset("chair_b", 0.7)]), Candidate("c2", [RankedAsset("chair_a", 0.99)])])
    problem = build_problem(obs, cands, ASSETS)
    assert [i.asset.id for i in problem.items] == ["chair_b"] * 3


def test_objects_without_candidates_are_left_out_and_none_at_all_is_an_error() -> None:
    objects = [obj("t", (0, 0, 0.375), (1.2, 0.8, 0.75)), obj("x", (1, 0, 0.375), (1, 1, 1))]
    obs, _ = scene(objects, {"t": "table", "x": "table"})
    problem = build_problem(obs, CandidateSet([Candidate("t", [RankedAsset("table", 1.0)])]), ASSETS)
    assert [i.id for i in problem.items] == ["t"]
    with pytest.raises(LayoutError, match="No observed object has a candidate") as err:
        build_problem(obs, CandidateSet([Candidate("t", [RankedAsset("not_in_library", 1.0)])]), ASSETS)
    assert "Run matching" in err.value.fix


def test_proxies_come_from_a_mapping_or_a_store_and_bad_ones_are_rejected() -> None:
    objects = [obj("t", (0, 0, 0.375), (1.2, 0.8, 0.75))]
    obs, cands = scene(objects, {"t": "table"})
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])

    class Store:
        def proxy(self, asset_id: str) -> tuple[np.ndarray, np.ndarray]:
            return verts, faces

    assert build_problem(obs, cands, ASSETS, proxies=Store()).items[0].verts.shape == (4, 3)
    assert build_problem(obs, cands, ASSETS, proxies={}).items[0].verts.shape == (8, 3)  # the box fallback
    with pytest.raises(LayoutError, match="not a closed mesh"):
        build_problem(obs, cands, ASSETS, proxies={"table": (verts, faces + 5)})


def test_a_wrong_catalogue_type_is_named() -> None:
    obs, cands = scene([obj("t", (0, 0, 0.375), (1.2, 0.8, 0.75))], {"t": "table"})
    with pytest.raises(LayoutError, match="catalogue"):
        build_problem(obs, cands, ["table"])


def test_missing_mathutils_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mathutils_loader, "_CACHE", [])
    monkeypatch.setattr(mathutils_loader, "_try_import", lambda: None)
    monkeypatch.setitem(sys.modules, "bpy", None)  # makes `import bpy` raise ImportError
    with pytest.raises(LayoutError, match="mathutils") as err:
        mathutils_loader.load_mathutils()
    assert "bpy==4.3.0" in err.value.fix


def test_the_package_imports_without_bpy() -> None:
    import subprocess
    code = ("import sys, core.layout, core.layout.metrics, core.layout.room_generator;"
            "assert 'bpy' not in sys.modules and 'mathutils' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[2]))
