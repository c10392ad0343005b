"""Collision proxies from the meshes actually placed in a run, for the layout solver's CollisionWorld.

Why: ``core.layout`` builds its BVH trees from per-asset proxies in the asset frame
(``proxies.proxy(asset_id) -> (verts, faces)``, see ``core/layout/problem.asset_proxy``). In
Blender the best proxy for re-optimising after an edit is the mesh the artist sees — the
built assets are already in the asset frame at catalogue size (``asset_import`` normalises
them), so their triangles can be handed over directly, without the library's derived data.
Assets with no object in the run fall back to ``fallback`` (a FeatureStore or a mapping), and
then, as ``asset_proxy`` documents, to the catalogue box.
"""
from __future__ import annotations

from typing import Any, Mapping

import bpy
import numpy as np

from . import layout_props as lp


class CollectionProxies:
    """``.proxy(asset_id)`` from the run's meshes (cached), else from ``fallback``."""

    def __init__(self, collection: bpy.types.Collection, fallback: Any = None) -> None:
        self.fallback = fallback
        self._meshes: dict[str, bpy.types.Mesh] = {}
        for obj in lp.placement_objects(collection).values():
            if obj.type == "MESH" and obj.data is not None:
                self._meshes.setdefault(str(obj[lp.ASSET_ID]), obj.data)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def proxy(self, asset_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(verts [n,3] float32, faces [m,3] int32) in the asset frame; KeyError when nobody has it."""
        if asset_id in self._cache:
            return self._cache[asset_id]
        mesh = self._meshes.get(asset_id)
        if mesh is not None:
            found = mesh_triangles(mesh)
        elif isinstance(self.fallback, Mapping) and asset_id in self.fallback:
            found = self.fallback[asset_id]
        elif self.fallback is not None and hasattr(self.fallback, "proxy"):
            found = self.fallback.proxy(asset_id)
        else:
            raise KeyError(asset_id)
        self._cache[asset_id] = found
        return found


def mesh_triangles(mesh: bpy.types.Mesh) -> tuple[np.ndarray, np.ndarray]:
    """A mesh's vertices and triangulated faces as numpy arrays (its own coordinates)."""
    mesh.calc_loop_triangles()
    co = np.zeros(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    tri = np.zeros(len(mesh.loop_triangles) * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", tri)
    return co.reshape(-1, 3), tri.reshape(-1, 3)
