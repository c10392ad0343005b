"""Materials for the room's surfaces from the chosen background textures.

Why: the layout names textures by id (``Layout.textures = {"floor": id, "wall": id,
"ceiling": id}``); the files live in the library's ``background_texture_dataset``. A
texture we can resolve to an image becomes an image-textured Principled BSDF; one we
cannot (no library, missing or unreadable file) becomes a flat colour — the texture's mean
colour when the library knows it, else a neutral default per surface — so a build never
fails for want of a texture. Materials are shared by id: rebuilding reuses them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

import bpy

from .layout_props import PREFIX

DEFAULT_RGB = {"floor": (0.55, 0.45, 0.35), "wall": (0.85, 0.83, 0.80), "ceiling": (0.95, 0.95, 0.95)}  # sRGB
_MAT_KEY = PREFIX + "material_key"


@dataclass(frozen=True)
class TextureChoice:
    """What one surface kind gets: the id, an image file (if usable) and a fallback colour."""

    kind: str
    texture_id: str
    path: str | None
    rgb: tuple[float, float, float]


def resolve_textures(layout_textures: Mapping[str, str], catalogue: Any = None,
                     textures: Any = None) -> dict[str, TextureChoice]:
    """A TextureChoice for floor, wall and ceiling.

    ``textures`` (optional) maps texture id → image path, or is a list of records with
    ``id``, ``path`` and ``mean_rgb``; otherwise the catalogue's library folder is read with
    ``core.library.textures.load_textures`` when that module is available. A texture id that
    is itself an existing image path is used directly.
    """
    records = _texture_records(catalogue, textures)
    out: dict[str, TextureChoice] = {}
    for kind in ("floor", "wall", "ceiling"):
        tid = str(layout_textures.get(kind) or "")
        path, rgb = None, DEFAULT_RGB[kind]
        rec = records.get((kind, tid)) or records.get(("", tid))
        if rec is not None:
            path = rec.get("path")
            if rec.get("mean_rgb") is not None:
                rgb = tuple(float(c) for c in rec["mean_rgb"])[:3]  # type: ignore[assignment]
        elif tid and os.path.isfile(tid):
            path = tid
        if path is not None and not os.path.isfile(str(path)):
            path = None
        out[kind] = TextureChoice(kind, tid or f"default_{kind}", str(path) if path else None, rgb)
    return out


def _texture_records(catalogue: Any, textures: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, id) → {"path", "mean_rgb"}; kind "" for records that do not say (any surface may use them)."""
    if textures is None and catalogue is not None and getattr(catalogue, "library_dir", None) is not None:
        try:
            from ..core.library.textures import load_textures  # the library helper's module
            textures = load_textures(catalogue.library_dir)
        except Exception:  # no textures module or no texture folder: flat colours it is
            textures = None
    if textures is None:
        return {}
    if isinstance(textures, Mapping):
        return {("", str(k)): {"path": str(v)} for k, v in textures.items()}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in textures:
        entry = {"path": str(rec.path) if getattr(rec, "path", None) else None,
                 "mean_rgb": getattr(rec, "mean_rgb", None)}
        out[(str(getattr(rec, "kind", "") or ""), str(rec.id))] = entry
        out.setdefault(("", str(rec.id)), entry)
    return out


def surface_material(choice: TextureChoice) -> bpy.types.Material:
    """The material for one surface (reused when one with the same texture already exists)."""
    key = f"{choice.kind}|{choice.texture_id}|{choice.path or ''}|{choice.rgb}"
    for mat in bpy.data.materials:
        if mat.get(_MAT_KEY) == key:
            return mat
    mat = bpy.data.materials.new(f"Imaginarium {choice.kind} {choice.texture_id}")
    mat[_MAT_KEY] = key
    mat[PREFIX + "texture_id"] = choice.texture_id
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Roughness"].default_value = 0.8
    linear = tuple(srgb_to_linear(c) for c in choice.rgb)  # library colours are sRGB; shaders want linear
    bsdf.inputs["Base Color"].default_value = (*linear, 1.0)
    mat.diffuse_color = (*linear, 1.0)  # what solid view and Workbench show
    image = _load_image(choice.path) if choice.path else None
    if image is not None:
        tex = nodes.new("ShaderNodeTexImage")
        tex.image = image
        tex.location = (bsdf.location.x - 350, bsdf.location.y)
        links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    mat[PREFIX + "textured"] = image is not None
    return mat


def srgb_to_linear(c: float) -> float:
    """The sRGB transfer function inverted (IEC 61966-2-1)."""
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _load_image(path: str) -> bpy.types.Image | None:
    """The image, or None when Blender cannot read it (the surface falls back to its colour)."""
    try:
        image = bpy.data.images.load(path, check_existing=True)
    except RuntimeError:
        return None
    if image.size[0] == 0 or image.size[1] == 0:
        return None
    return image
