"""Mesh building blocks for the starter library (bpy + bmesh), our own code.

Why a builder object: every asset is one mesh made of many primitives with a material slot
per part; collecting them in one bmesh keeps each .blend to a single object whose origin we
can put exactly at the bottom centre (the asset frame: Z up, front facing −Y).
"""
from __future__ import annotations

import math
from typing import Sequence

import bmesh
import bpy
from mathutils import Matrix, Vector


class MeshBuilder:
    """Adds primitives (sizes in metres, positions in the asset frame) to one bmesh."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.bm = bmesh.new()
        self.materials: list[bpy.types.Material] = []
        self._slot: dict[str, int] = {}

    def material(self, key: str, rgb: Sequence[float], roughness: float = 0.6, metallic: float = 0.0) -> int:
        """Slot index of a material (created once per key and asset, so variants never share one)."""
        if key in self._slot:
            return self._slot[key]
        mat = bpy.data.materials.new(f"{self.name}.{key}")
        mat.diffuse_color = (*rgb, 1.0)  # Workbench and the viewport read this colour
        mat.roughness = roughness
        mat.metallic = metallic
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes.get("Principled BSDF")
        if bsdf is not None:
            bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
            bsdf.inputs["Roughness"].default_value = roughness
            bsdf.inputs["Metallic"].default_value = metallic
        self.materials.append(mat)
        self._slot[key] = len(self.materials) - 1
        return self._slot[key]

    def _tag(self, geom: list, slot: int) -> None:
        for f in {f for v in geom if isinstance(v, bmesh.types.BMVert) for f in v.link_faces}:
            f.material_index = slot

    def box(self, center: Sequence[float], size: Sequence[float], slot: int, yaw: float = 0.0) -> None:
        """An axis box (optionally turned about Z) centred at ``center``."""
        m = Matrix.Translation(center) @ Matrix.Rotation(yaw, 4, "Z") @ Matrix.Diagonal((*size, 1.0))
        out = bmesh.ops.create_cube(self.bm, size=1.0, matrix=m)
        self._tag(out["verts"], slot)

    def cylinder(self, bottom: Sequence[float], radius: float, height: float, slot: int, segments: int = 24,
                 radius_top: float | None = None) -> None:
        """A closed cylinder or frustum standing on ``bottom``."""
        m = Matrix.Translation(Vector(bottom) + Vector((0, 0, height / 2)))
        out = bmesh.ops.create_cone(self.bm, cap_ends=True, cap_tris=False, segments=segments, radius1=radius,
                                    radius2=radius if radius_top is None else radius_top, depth=height, matrix=m)
        self._tag(out["verts"], slot)

    def sphere(self, center: Sequence[float], radii: Sequence[float], slot: int, segments: int = 16) -> None:
        m = Matrix.Translation(center) @ Matrix.Diagonal((*radii, 1.0))
        out = bmesh.ops.create_uvsphere(self.bm, u_segments=segments, v_segments=max(6, segments // 2), radius=1.0,
                                        matrix=m)
        self._tag(out["verts"], slot)

    def lathe(self, profile: Sequence[tuple[float, float]], slot: int, segments: int = 24) -> None:
        """Spin a (radius, z) profile about Z: vases, lamp bases."""
        verts = [self.bm.verts.new((r, 0.0, z)) for r, z in profile]
        edges = [self.bm.edges.new((a, b)) for a, b in zip(verts, verts[1:])]
        out = bmesh.ops.spin(self.bm, geom=verts + edges, cent=(0, 0, 0), axis=(0, 0, 1), angle=2 * math.pi,
                             steps=segments, use_merge=True)
        self._tag(out["geom_last"] + verts, slot)
        for f in self.bm.faces:
            if any(v in set(verts) for v in f.verts):
                f.material_index = slot

    def grid(self, width: float, height: float, nx: int, ny: int, slot: int, z_of=None, y_of=None,
             origin: Sequence[float] = (0, 0, 0), vertical: bool = False) -> None:
        """A subdivided sheet: flat (XY) or vertical (XZ, for curtains); ``y_of(x)`` adds folds."""
        rows = []
        for j in range(ny + 1):
            row = []
            for i in range(nx + 1):
                x = -width / 2 + width * i / nx
                t = height * j / ny
                if vertical:
                    co = (x, (y_of(x) if y_of else 0.0), t)
                else:
                    co = (x, -height / 2 + t, (z_of(x, t) if z_of else 0.0))
                row.append(self.bm.verts.new(Vector(co) + Vector(origin)))
            rows.append(row)
        for j in range(ny):
            for i in range(nx):
                f = self.bm.faces.new((rows[j][i], rows[j][i + 1], rows[j + 1][i + 1], rows[j + 1][i]))
                f.material_index = slot

    def finish(self, collection: bpy.types.Collection) -> bpy.types.Object:
        """Make the object with its origin at the bottom centre of its bounds; returns it."""
        bm = self.bm
        bmesh.ops.remove_doubles(bm, verts=bm.verts, dist=1e-6)
        xs = [v.co.x for v in bm.verts]
        ys = [v.co.y for v in bm.verts]
        zs = [v.co.z for v in bm.verts]
        shift = Vector((-(min(xs) + max(xs)) / 2, -(min(ys) + max(ys)) / 2, -min(zs)))
        bmesh.ops.translate(bm, vec=shift, verts=bm.verts)
        bmesh.ops.recalc_face_normals(bm, faces=bm.faces)
        mesh = bpy.data.meshes.new(self.name)
        bm.to_mesh(mesh)
        bm.free()
        for mat in self.materials:
            mesh.materials.append(mat)
        obj = bpy.data.objects.new(self.name, mesh)
        collection.objects.link(obj)
        return obj


def dimensions(obj: bpy.types.Object) -> tuple[float, float, float]:
    """Exact extents of the mesh along the asset axes (what the catalogue bbx must say)."""
    co = [v.co for v in obj.data.vertices]
    return tuple(max(c[i] for c in co) - min(c[i] for c in co) for i in range(3))  # type: ignore[return-value]
