"""Furniture designs for the starter library: one function per kind, parameters in metres.

Each function draws into a :class:`MeshBuilder` in the asset frame (Z up, front −Y, floor at
z = 0) so the finished mesh's bounds are ``w × d × h``. ``mats`` maps a part name to
``(rgb, roughness, metallic)``; every variant brings its own, so materials are distinct.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from _library_shapes import MeshBuilder

Params = dict[str, Any]


def _mat(b: MeshBuilder, p: Params, key: str) -> int:
    rgb, rough, metal = p["mats"][key]
    return b.material(key, rgb, rough, metal)


def _legs(b: MeshBuilder, w: float, d: float, h: float, t: float, slot: int, inset: float = 0.03,
          round_legs: bool = False) -> None:
    for sx in (-1, 1):
        for sy in (-1, 1):
            x, y = sx * (w / 2 - inset - t / 2), sy * (d / 2 - inset - t / 2)
            if round_legs:
                b.cylinder((x, y, 0), t / 2, h, slot, segments=12)
            else:
                b.box((x, y, h / 2), (t, t, h), slot)


def bed(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    frame, mattress, linen, pillow = (_mat(b, p, k) for k in ("frame", "mattress", "linen", "pillow"))
    base_h = 0.32
    _legs(b, w, d - 0.06, 0.12, 0.06, frame)
    b.box((0, -0.03, 0.12 + (base_h - 0.12) / 2), (w, d - 0.06, base_h - 0.12), frame)
    b.box((0, d / 2 - 0.04, h / 2), (w, 0.08, h), frame)  # headboard at the back (+Y)
    b.box((0, -0.05, base_h + 0.11), (w - 0.06, d - 0.16, 0.22), mattress)
    b.box((0, -0.25, base_h + 0.235), (w - 0.02, d * 0.6, 0.03), linen)  # duvet over the front part
    n = 2 if w > 1.2 else 1
    for i in range(n):
        x = 0 if n == 1 else (i - 0.5) * w / 2
        b.box((x, d / 2 - 0.3, base_h + 0.28), (w / n - 0.16, 0.36, 0.12), pillow)


def case(b: MeshBuilder, p: Params) -> None:
    """Nightstands, dressers, wardrobes, cabinets, TV stands: a body with fronts in a grid."""
    w, d, h = p["w"], p["d"], p["h"]
    body, front, handle = (_mat(b, p, k) for k in ("body", "front", "handle"))
    leg_h = p.get("leg_h", 0.0)
    if leg_h:
        _legs(b, w, d, leg_h, 0.04, body, inset=0.02)
    b.box((0, 0.01, leg_h + (h - leg_h) / 2), (w, d - 0.02, h - leg_h), body)
    cols, rows = p.get("cols", 1), p.get("rows", 1)
    gap = 0.008
    fw, fh = (w - 0.04) / cols, (h - leg_h - 0.04) / rows
    for i in range(cols):
        for j in range(rows):
            cx = -w / 2 + 0.02 + fw * (i + 0.5)
            cz = leg_h + 0.02 + fh * (j + 0.5)
            b.box((cx, -d / 2 + 0.01, cz), (fw - gap, 0.02, fh - gap), front)
            hx = cx if p.get("drawers", True) else cx + (fw / 2 - 0.05) * (1 if i % 2 == 0 else -1)
            hsize = (min(0.12, fw * 0.4), 0.02, 0.02) if p.get("drawers", True) else (0.02, 0.02, min(0.3, fh * 0.4))
            b.box((hx, -d / 2 - 0.01, cz), hsize, handle)


def sofa(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    frame, cushion, leg = (_mat(b, p, k) for k in ("frame", "cushion", "legs"))
    seats, arm = p.get("seats", 3), p.get("arm", 0.16)
    _legs(b, w, d, 0.1, 0.05, leg, inset=0.04)
    b.box((0, 0, 0.1 + 0.12), (w, d, 0.24), frame)
    b.box((0, d / 2 - 0.1, (h + 0.34) / 2), (w, 0.2, h - 0.34), frame)  # back rest, +Y
    for sx in (-1, 1):
        b.box((sx * (w / 2 - arm / 2), -0.0, 0.34 + 0.14), (arm, d, 0.28), frame)
    inner = w - 2 * arm
    for i in range(seats):
        x = -inner / 2 + inner * (i + 0.5) / seats
        b.box((x, -0.09, 0.34 + 0.07), (inner / seats - 0.02, d - 0.24, 0.14), cushion)
        b.box((x, d / 2 - 0.26, 0.48 + 0.18), (inner / seats - 0.03, 0.12, 0.36), cushion)


def table(b: MeshBuilder, p: Params) -> None:
    """Dining/coffee/side tables and desks: a top on legs, a pedestal or panels."""
    w, d, h = p["w"], p["d"], p["h"]
    top, leg = _mat(b, p, "top"), _mat(b, p, "legs")
    t = p.get("top_t", 0.04)
    if p.get("round"):
        b.cylinder((0, 0, h - t), w / 2, t, top, segments=40)
        b.cylinder((0, 0, 0.03), 0.05, h - t - 0.03, leg, segments=16)
        b.cylinder((0, 0, 0), min(w, d) * 0.3, 0.03, leg, segments=24)
        return
    b.box((0, 0, h - t / 2), (w, d, t), top)
    style = p.get("base", "legs")
    if style == "panels":
        for sx in (-1, 1):
            b.box((sx * (w / 2 - 0.03), 0, (h - t) / 2), (0.03, d - 0.04, h - t), leg)
        b.box((0, d / 2 - 0.05, h - t - 0.2), (w - 0.09, 0.02, 0.3), leg)  # modesty panel at the back
    else:
        _legs(b, w, d, h - t, p.get("leg_t", 0.05), leg, round_legs=p.get("round_legs", False))
    if p.get("drawer_unit"):
        dr = _mat(b, p, "drawer")
        b.box((w / 2 - 0.26, 0, (h - t) / 2), (0.4, d - 0.1, h - t - 0.02), dr)
    if p.get("shelf"):
        b.box((0, 0, 0.12), (w - 0.1, d - 0.1, 0.02), top)


def chair(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    seat, frame = _mat(b, p, "seat"), _mat(b, p, "frame")
    sh = p.get("seat_h", 0.46)
    _legs(b, w, d, sh - 0.04, 0.035, frame, inset=0.02, round_legs=p.get("round_legs", False))
    b.box((0, 0, sh - 0.02), (w, d, 0.05), seat)
    for sx in (-1, 1):
        b.box((sx * (w / 2 - 0.037), d / 2 - 0.037, (sh + h) / 2), (0.035, 0.035, h - sh), frame)
    slats = p.get("slats", 3)
    for k in range(slats):
        z = sh + (h - sh) * (0.35 + 0.6 * (k + 0.5) / slats)
        b.box((0, d / 2 - 0.037, z), (w - 0.07, 0.02, (h - sh) * 0.5 / slats), frame)


def office_chair(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    seat, frame = _mat(b, p, "seat"), _mat(b, p, "frame")
    r = w / 2 - 0.03
    for k in range(5):
        a = 2 * math.pi * k / 5 - math.pi / 2
        b.box((math.cos(a) * r / 2, math.sin(a) * r / 2, 0.06), (r, 0.04, 0.03), frame, yaw=a)
        b.cylinder((math.cos(a) * r, math.sin(a) * r, 0), 0.03, 0.05, frame, segments=10)
    b.cylinder((0, 0, 0.07), 0.03, 0.36, frame, segments=12)
    b.box((0, 0, 0.48), (w * 0.85, d * 0.8, 0.08), seat)
    b.box((0, d / 2 - 0.05, 0.55), (0.05, 0.04, 0.12), frame)
    b.box((0, d / 2 - 0.05, (0.6 + h) / 2), (w * 0.8, 0.06, h - 0.6), seat)


def bookshelf(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    wood, back = _mat(b, p, "wood"), _mat(b, p, "back")
    t = 0.02
    for sx in (-1, 1):
        b.box((sx * (w / 2 - t / 2), 0, h / 2), (t, d, h), wood)
    b.box((0, d / 2 - 0.005, h / 2), (w - 2 * t, 0.01, h), back)
    for z in shelf_levels(p):
        b.box((0, 0, z - t / 2), (w - 2 * t, d - 0.01, t), wood)
    b.box((0, 0, h - t / 2), (w - 2 * t, d - 0.01, t), wood)


def shelf_levels(p: Params) -> list[float]:
    """Top faces of the boards things can stand on (bottom board first)."""
    n, h, t = p["shelves"], p["h"], 0.02
    step = (h - 0.06 - t) / n
    return [0.06 + t + k * step for k in range(n)]


def lamp(b: MeshBuilder, p: Params) -> None:
    """Floor and table lamps: a base, a stem and a shade."""
    h, shade_r = p["h"], p["w"] / 2
    base, stem, shade = (_mat(b, p, k) for k in ("base", "stem", "shade"))
    shade_h = p.get("shade_h", 0.3)
    b.cylinder((0, 0, 0), p.get("base_r", shade_r * 0.6), 0.03, base, segments=24)
    b.cylinder((0, 0, 0.03), 0.012, h - shade_h * 0.6 - 0.03, stem, segments=10)
    b.cylinder((0, 0, h - shade_h), shade_r, shade_h, shade, segments=28, radius_top=shade_r * 0.7)


def pendant(b: MeshBuilder, p: Params) -> None:
    h, r = p["h"], p["w"] / 2
    cord, shade = _mat(b, p, "cord"), _mat(b, p, "shade")
    sh = p.get("shade_h", 0.25)
    if p.get("globe"):
        b.sphere((0, 0, r), (r, r, r), shade, segments=24)
        sh = 2 * r
    else:
        b.cylinder((0, 0, 0), r, sh, shade, segments=28, radius_top=r * 0.25)
    b.cylinder((0, 0, sh), 0.006, h - sh - 0.02, cord, segments=8)
    b.cylinder((0, 0, h - 0.02), 0.06, 0.02, cord, segments=16)  # ceiling rose on top


def rug(b: MeshBuilder, p: Params) -> None:
    """Flat (zero height), as rugs are in the published catalogue: a field inside a border."""
    field_, border = _mat(b, p, "field"), _mat(b, p, "border")
    w, d, e = p["w"], p["d"], p.get("border", 0.1)
    if p.get("round"):
        ring = [b.bm.verts.new((w / 2 * math.cos(2 * math.pi * k / 48), d / 2 * math.sin(2 * math.pi * k / 48), 0))
                for k in range(48)]
        inner = [b.bm.verts.new(((w / 2 - e) * math.cos(2 * math.pi * k / 48),
                                 (d / 2 - e) * math.sin(2 * math.pi * k / 48), 0)) for k in range(48)]
        b.bm.faces.new(inner).material_index = field_
        for k in range(48):
            b.bm.faces.new((ring[k], ring[(k + 1) % 48], inner[(k + 1) % 48], inner[k])).material_index = border
        return
    xs, ys = (-w / 2, -w / 2 + e, w / 2 - e, w / 2), (-d / 2, -d / 2 + e, d / 2 - e, d / 2)
    grid = [[b.bm.verts.new((x, y, 0.0)) for x in xs] for y in ys]
    for j in range(3):
        for i in range(3):
            f = b.bm.faces.new((grid[j][i], grid[j][i + 1], grid[j + 1][i + 1], grid[j + 1][i]))
            f.material_index = field_ if (i, j) == (1, 1) else border


def plant(b: MeshBuilder, p: Params) -> None:
    h, r = p["h"], p["w"] / 2
    pot, soil, leaf = (_mat(b, p, k) for k in ("pot", "soil", "leaves"))
    pot_h = p.get("pot_h", 0.3)
    pr = p.get("pot_r", r * 0.55)
    b.cylinder((0, 0, 0), pr * 0.8, pot_h, pot, segments=20, radius_top=pr)
    b.cylinder((0, 0, pot_h - 0.04), pr * 0.95, 0.03, soil, segments=20)
    rng = p["rng"]
    for k in range(p.get("clumps", 6)):
        a = 2 * math.pi * k / p.get("clumps", 6) + rng.uniform(-0.3, 0.3)
        rad = r * 0.45
        z = pot_h + (h - pot_h) * rng.uniform(0.35, 0.6)
        b.sphere((math.cos(a) * rad, math.sin(a) * rad, z), (r * 0.5, r * 0.5, (h - pot_h) * 0.35), leaf, 10)
    b.sphere((0, 0, h - (h - pot_h) * 0.3), (r * 0.45, r * 0.45, (h - pot_h) * 0.3), leaf, 12)
    b.sphere((0, 0, pot_h + (h - pot_h) * 0.45), (r, r, (h - pot_h) * 0.3), leaf, 12)


def wall_frame(b: MeshBuilder, p: Params) -> None:
    """Picture frames and mirrors: the back (+Y) lies flat on the wall, the face looks along −Y."""
    w, d, h = p["w"], p["d"], p["h"]
    frame, face = _mat(b, p, "frame"), _mat(b, p, "face")
    f = p.get("border", 0.04)
    b.box((0, 0, f / 2), (w, d, f), frame)
    b.box((0, 0, h - f / 2), (w, d, f), frame)
    for sx in (-1, 1):
        b.box((sx * (w / 2 - f / 2), 0, h / 2), (f, d, h - 2 * f), frame)
    b.box((0, d * 0.2, h / 2), (w - 2 * f, d * 0.4, h - 2 * f), face)
    if "accent" in p["mats"]:  # a simple 'painting': a band of colour on the canvas
        acc = _mat(b, p, "accent")
        b.box((0, -d * 0.02, h * 0.45), (w - 2 * f - 0.04, 0.004, (h - 2 * f) * 0.3), acc)


def curtain(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    cloth, rod = _mat(b, p, "cloth"), _mat(b, p, "rod")
    folds = p.get("folds", 10)
    amp = d / 2
    b.grid(w - 0.04, h - 0.05, folds * 4, 2, cloth, vertical=True, origin=(0, 0, 0),
           y_of=lambda x: amp * math.sin(x / (w - 0.04) * folds * 2 * math.pi))
    b.box((0, d / 2 - 0.015, h - 0.015), (w, 0.03, 0.03), rod)


def books(b: MeshBuilder, p: Params) -> None:
    rng = p["rng"]
    keys = [k for k in p["mats"] if k.startswith("cover")]
    x = -p["w"] / 2
    n = p.get("count", 5)
    step = p["w"] / n
    for i in range(n):
        hh = p["h"] * (1.0 if i == 0 else rng.uniform(0.8, 1.0))
        dd = p["d"] * (1.0 if i == 1 else rng.uniform(0.85, 1.0))
        b.box((x + step * (i + 0.5), 0, hh / 2), (step * 0.94, dd, hh), _mat(b, p, keys[i % len(keys)]))


def vase(b: MeshBuilder, p: Params) -> None:
    r, h = p["w"] / 2, p["h"]
    prof = [(0.0, 0.0)] + [(r * s, h * t) for t, s in p["profile"]] + [(0.0, h * p["profile"][-1][0] * 0.98)]
    b.lathe(prof, _mat(b, p, "glaze"), segments=28)


def cushion(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    cloth = _mat(b, p, "cloth")
    # stands upright against a sofa back: thin along Y
    b.sphere((0, 0, h / 2), (w / 2, d / 2, h / 2), cloth, segments=20)
    for v in b.bm.verts:  # square it off: push the sphere towards a pillow shape
        v.co.x = math.copysign(min(abs(v.co.x) * 1.25, w / 2), v.co.x)
        v.co.z = h / 2 + math.copysign(min(abs(v.co.z - h / 2) * 1.25, h / 2), v.co.z - h / 2)


def tv(b: MeshBuilder, p: Params) -> None:
    w, d, h = p["w"], p["d"], p["h"]
    body, screen = _mat(b, p, "body"), _mat(b, p, "screen")
    sh = h - 0.08
    b.box((0, 0, 0.01), (w * 0.35, d, 0.02), body)
    b.box((0, 0.02, 0.05), (0.06, 0.04, 0.08), body)
    b.box((0, 0.02, 0.08 + sh / 2), (w, 0.04, sh), body)
    b.box((0, 0.0, 0.08 + sh / 2), (w - 0.02, 0.004, sh - 0.02), screen)


BUILDERS: dict[str, Callable[[MeshBuilder, Params], None]] = {
    "bed": bed, "case": case, "sofa": sofa, "table": table, "chair": chair, "office_chair": office_chair,
    "bookshelf": bookshelf, "lamp": lamp, "pendant": pendant, "rug": rug, "plant": plant,
    "wall_frame": wall_frame, "curtain": curtain, "books": books, "vase": vase, "cushion": cushion, "tv": tv,
}
