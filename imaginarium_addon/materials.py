"""Materials for the room's surfaces from the chosen background texture sets.

Why: the layout names textures by id (``Layout.textures = {"floor": id, "wall": id,
"ceiling": id}``); the files live in the library's ``background_texture_dataset``. A set we
can resolve becomes a Principled BSDF that uses *every* map the set has — base colour
(sRGB), roughness, normal (OpenGL convention; a DirectX map gets its green flipped) and
metallic (non-colour data) — scaled so one repeat covers the set's ``tile_m`` metres (room
meshes carry UVs in metres). Displacement is never connected: it would need a subdivided
mesh and render-time displacement, which a preview does not want. Ambient occlusion is left
out because Cycles computes it. A set we cannot resolve (no library, missing or unreadable
file) becomes a flat colour — the set's mean colour when the library knows it, else a
neutral default per surface — and a note says so, so a build never fails for want of a
texture and never hides the fallback. Materials are shared by their full description:
rebuilding reuses them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import bpy

from .layout_props import PREFIX

DEFAULT_RGB = {"floor": (0.55, 0.45, 0.35), "wall": (0.85, 0.83, 0.80), "ceiling": (0.95, 0.95, 0.95)}  # sRGB
DEFAULT_ROUGHNESS = 0.8
_MAT_KEY = PREFIX + "material_key"
_DATA_MAPS = ("roughness", "normal", "metallic")  # non-colour maps the material uses


@dataclass(frozen=True)
class TextureChoice:
    """What one surface kind gets: the id, its maps (if usable), metres per repeat and a fallback colour."""

    kind: str
    texture_id: str
    path: str | None
    rgb: tuple[float, float, float]
    maps: dict = field(default_factory=dict)
    tile_m: float = 1.0
    normal_convention: str = "gl"
    roughness: float | None = None
    notes: tuple = ()


def resolve_textures(layout_textures: Mapping[str, str], catalogue: Any = None,
                     textures: Any = None) -> dict[str, TextureChoice]:
    """A TextureChoice for floor, wall and ceiling.

    ``textures`` (optional) maps texture id → image path, or is a list of records with ``id``,
    ``path``, ``mean_rgb`` and optionally ``maps``, ``tile_m``, ``normal_convention`` and
    ``roughness`` (see core.library.textures.TextureRecord); otherwise the catalogue's library
    folder is read with ``core.library.textures.load_textures``. A texture id that is itself an
    existing image path is used directly.
    """
    records = _texture_records(catalogue, textures)
    out: dict[str, TextureChoice] = {}
    for kind in ("floor", "wall", "ceiling"):
        tid = str(layout_textures.get(kind) or "")
        rec = records.get((kind, tid)) or records.get(("", tid))
        notes: list[str] = []
        rgb = DEFAULT_RGB[kind]
        if rec is not None:
            maps = {k: str(v) for k, v in (rec.get("maps") or {}).items() if v}
            if rec.get("path"):
                maps.setdefault("color", str(rec["path"]))
            if rec.get("mean_rgb") is not None and rec.get("mean_known", True):
                rgb = tuple(float(c) for c in rec["mean_rgb"])[:3]  # type: ignore[assignment]
        elif tid and os.path.isfile(tid):
            maps = {"color": tid}
        else:
            maps = {}
            if tid:
                notes.append(f"{kind}: texture {tid} is not in the library; a flat colour is used.")
        for name, path in list(maps.items()):
            if not os.path.isfile(path):
                notes.append(f"{kind}: the {name} map of texture {tid} ({path}) does not exist; left out.")
                del maps[name]
        rec = rec or {}
        out[kind] = TextureChoice(kind, tid or f"default_{kind}", maps.get("color"), rgb, maps,
                                  float(rec.get("tile_m") or 1.0), str(rec.get("normal_convention") or "gl"),
                                  rec.get("roughness"), tuple(notes))
    return out


def _texture_records(catalogue: Any, textures: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, id) → record fields; kind "" for records that do not say (any surface may use them)."""
    if textures is None and catalogue is not None and getattr(catalogue, "library_dir", None) is not None:
        try:
            from ..core.library.textures import load_textures
            textures = load_textures(catalogue.library_dir)
        except Exception:  # no texture folder: flat colours it is (each surface notes it)
            textures = None
    if textures is None:
        return {}
    if isinstance(textures, Mapping):
        return {("", str(k)): {"path": str(v)} for k, v in textures.items()}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in textures:
        get = rec.get if isinstance(rec, Mapping) else (lambda name, default=None, r=rec: getattr(r, name, default))
        entry = {"path": str(get("path")) if get("path") else None, "mean_rgb": get("mean_rgb"),
                 "mean_known": get("mean_known", True), "maps": dict(get("maps") or {}),
                 "tile_m": get("tile_m"), "normal_convention": get("normal_convention"),
                 "roughness": get("roughness")}
        out[(str(get("kind", "") or ""), str(get("id")))] = entry
        out.setdefault(("", str(get("id"))), entry)
    return out


def surface_material(choice: TextureChoice, notes: list[str] | None = None) -> bpy.types.Material:
    """The material for one surface (reused when one with the same description already exists).

    A map Blender cannot read is left out and noted in ``notes``; an unreadable colour map
    leaves the flat colour.
    """
    key = f"{choice.kind}|{choice.texture_id}|{sorted(choice.maps.items())}|{choice.rgb}|{choice.tile_m}|" \
          f"{choice.normal_convention}|{choice.roughness}"
    for mat in bpy.data.materials:
        if mat.get(_MAT_KEY) == key:
            return mat
    mat = bpy.data.materials.new(f"Imaginarium {choice.kind} {choice.texture_id}")
    mat[_MAT_KEY] = key
    mat[PREFIX + "texture_id"] = choice.texture_id
    mat.use_nodes = True
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    bsdf = next(n for n in nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Roughness"].default_value = DEFAULT_ROUGHNESS if choice.roughness is None else choice.roughness
    linear = tuple(srgb_to_linear(c) for c in choice.rgb)  # library colours are sRGB; shaders want linear
    bsdf.inputs["Base Color"].default_value = (*linear, 1.0)
    mat.diffuse_color = (*linear, 1.0)  # what solid view and Workbench show
    images = {}
    for name in ("color", *_DATA_MAPS):
        path = choice.maps.get(name)
        if not path:
            continue
        image = _load_image(path, colour=name == "color")
        if image is None:
            if notes is not None:
                notes.append(f"{choice.kind}: the {name} map of texture {choice.texture_id} ({path}) could not be "
                             "read by Blender; " + ("a flat colour is used." if name == "color" else "left out."))
            continue
        images[name] = image
    if images:
        _wire_maps(nodes, links, bsdf, images, choice)
    mat[PREFIX + "textured"] = "color" in images
    mat[PREFIX + "maps"] = ",".join(sorted(images))
    return mat


def _wire_maps(nodes: Any, links: Any, bsdf: Any, images: dict[str, bpy.types.Image], choice: TextureChoice) -> None:
    """UV (metres) → scale by 1/tile_m → one image node per map → the BSDF's inputs."""
    x, y = bsdf.location.x, bsdf.location.y
    coords = nodes.new("ShaderNodeTexCoord")
    coords.location = (x - 1100, y)
    mapping = nodes.new("ShaderNodeMapping")
    mapping.location = (x - 900, y)
    scale = 1.0 / max(choice.tile_m, 1e-3)
    mapping.inputs["Scale"].default_value = (scale, scale, 1.0)
    links.new(coords.outputs["UV"], mapping.inputs["Vector"])
    for row, (name, image) in enumerate(sorted(images.items(), key=lambda kv: ("color", *_DATA_MAPS).index(kv[0]))):
        tex = nodes.new("ShaderNodeTexImage")
        tex.name = tex.label = f"{name} map"
        tex.image = image
        tex.location = (x - 650, y - 280 * row)
        links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
        if name == "color":
            links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        elif name == "roughness":
            links.new(tex.outputs["Color"], bsdf.inputs["Roughness"])
        elif name == "metallic":
            links.new(tex.outputs["Color"], bsdf.inputs["Metallic"])
        elif name == "normal":
            normal_map = nodes.new("ShaderNodeNormalMap")
            normal_map.location = (x - 250, y - 280 * row)
            source = tex.outputs["Color"]
            if choice.normal_convention == "dx":  # DirectX maps point green down: flip it for Blender
                source = _flip_green(nodes, links, source, (x - 400, y - 280 * row - 150))
            links.new(source, normal_map.inputs["Color"])
            links.new(normal_map.outputs["Normal"], bsdf.inputs["Normal"])


def _flip_green(nodes: Any, links: Any, source: Any, location: tuple[float, float]) -> Any:
    sep = nodes.new("ShaderNodeSeparateColor")
    inv = nodes.new("ShaderNodeMath")
    inv.operation = "SUBTRACT"
    inv.inputs[0].default_value = 1.0
    comb = nodes.new("ShaderNodeCombineColor")
    sep.location, inv.location, comb.location = location, (location[0] + 100, location[1]), (location[0] + 200,
                                                                                              location[1])
    links.new(source, sep.inputs["Color"])
    links.new(sep.outputs["Green"], inv.inputs[1])
    links.new(sep.outputs["Red"], comb.inputs["Red"])
    links.new(inv.outputs["Value"], comb.inputs["Green"])
    links.new(sep.outputs["Blue"], comb.inputs["Blue"])
    return comb.outputs["Color"]


def srgb_to_linear(c: float) -> float:
    """The sRGB transfer function inverted (IEC 61966-2-1)."""
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _load_image(path: str, colour: bool = True) -> bpy.types.Image | None:
    """The image, or None when Blender cannot read it. Data maps are read as Non-Color (no sRGB curve)."""
    try:
        image = bpy.data.images.load(path, check_existing=True)
    except RuntimeError:
        return None
    if image.size[0] == 0 or image.size[1] == 0:
        return None
    if not colour:
        image.colorspace_settings.name = "Non-Color"
    return image
