"""Hand-made rooms for the layout tests: a 4 m x 4 m x 2.8 m box room and small scene builders."""
from __future__ import annotations

import math

from imaginarium.core.schema import (AssetRecord, Box3D, Camera, Candidate, CandidateSet, InnerSpace, Observation, Plane,
                         PoseHypothesis, RankedAsset, SceneGraph, SceneObject)

HALF = 2.0
HEIGHT = 2.8


def room_planes() -> list[Plane]:
    """Floor z=0, ceiling z=2.8, walls at y=+2 (wall_0), x=+2 (wall_1), y=-2 (wall_2), x=-2 (wall_3)."""
    return [
        Plane("floor", "floor", (0, 0, 1), 0.0),
        Plane("ceiling", "ceiling", (0, 0, -1), -HEIGHT),
        Plane("wall_0", "wall", (0, -1, 0), -HALF),
        Plane("wall_1", "wall", (-1, 0, 0), -HALF),
        Plane("wall_2", "wall", (0, 1, 0), -HALF),
        Plane("wall_3", "wall", (1, 0, 0), -HALF),
    ]


def asset(aid: str, size: tuple[float, float, float], strategy: str = "ISOTROPIC", align: bool = False,
          cls: str | None = None, spaces: list[InnerSpace] | None = None) -> AssetRecord:
    return AssetRecord(id=aid, name=aid, class_name=cls or aid, retrieval_class=cls or aid, size=size,
                       scaling_strategy=strategy, align_to_wall_normal=align, inner_spaces=spaces or [])


def shelf_spaces() -> list[InnerSpace]:
    """Two shelves inside a 1.0 x 0.4 x 1.6 bookcase: boxes 0.9 x 0.35 x 0.3 centred at z 0.4 and 1.0.

    The catalogue's transform locates a space by its bottom centre, hence z - 0.15.
    """
    def space(name: str, z: float) -> InnerSpace:
        return InnerSpace(name, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, z - 0.15], [0, 0, 0, 1]], [0.9, 0.875, 0.3 / 1.6])
    return [space("shelf_low", 0.4), space("shelf_high", 1.0)]


def obj(oid: str, center: tuple[float, float, float], size: tuple[float, float, float], yaw: float = 0.0,
        **kw: object) -> SceneObject:
    return SceneObject(id=oid, label=kw.pop("label", oid), box=Box3D(center, size, yaw), **kw)  # type: ignore[arg-type]


def scene(objects: list[SceneObject], choices: dict[str, str], yaws: dict[str, float] | None = None
          ) -> tuple[Observation, CandidateSet]:
    """An Observation of ``objects`` and a CandidateSet picking ``choices[object_id]`` as the top asset."""
    cam = Camera(500, 500, 320, 240, 640, 480)
    obs = Observation("room.png", cam, room_planes(), SceneGraph(objects))
    yaws = yaws or {}
    cands = CandidateSet([Candidate(o.id, [RankedAsset(choices[o.id], 0.9)],
                                    [PoseHypothesis(yaws.get(o.id, o.box.yaw if o.box else 0.0), 0.8)])
                          for o in objects])
    return obs, cands


def wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def placed(layout, oid: str) -> tuple[list[float], float, list[float]]:  # noqa: ANN001
    """(position, yaw, scale) of one placement."""
    m = layout.by_id()[oid].transform
    return [m[0][3], m[1][3], m[2][3]], math.atan2(m[1][0], m[0][0]), list(layout.by_id()[oid].scale)


def two_boxes_proxy(lower: tuple[float, float, float], upper_back: tuple[float, float, float]):  # noqa: ANN201
    """A desk-with-hutch proxy: a full-width lower box and a taller box along the back (+Y) edge.

    Both closed boxes share the asset frame (origin bottom centre); the hutch sits at the back.
    """
    import numpy as np

    from imaginarium.core.layout.geometry import box_proxy
    v1, f1 = box_proxy(lower)
    v2, f2 = box_proxy(upper_back)
    v2 = v2 + np.array([0.0, (lower[1] - upper_back[1]) / 2, 0.0])
    return np.vstack([v1, v2]), np.vstack([f1, f2 + len(v1)])
