"""Lights that match the photo: lamps glow at their shades, windows let daylight in, else a soft rig.

Why: a built room is closed by its ceiling, so without lights of its own Cycles renders it
black. Every build therefore gives the run a child collection "Imaginarium <run> lights"
(bound to the run id, never to a name): the artist can hide or delete it, and a rebuild
removes what it holds and makes it again from the layout.

* **Lamps** (a placement whose asset class says lamp, light, pendant, chandelier, sconce, or a
  placeholder with such a label) get a light at their shade: standing lamps near their top,
  hanging ones near their bottom, flush ceiling lights as a downward area light. The lamp
  object itself stops casting shadows (``visible_shadow``), or its own shade would swallow
  the light; so do windows (their panes would block the daylight). The flag is restored when
  the object stops being a lamp or a window.
* **Windows** (openings the scene builder cut) get an area light filling the opening, facing
  into the room, with daylight colour, and the largest window a sun shining in through it.
  Nothing is changed on the scene's world: the sky stays the artist's.
* **Neither**: a soft default rig — a large area light under the ceiling and a weak fill
  at the camera — so the room is never dark. A note says the rig is a stand-in.

Powers are in Blender watts at plausible household values (they are the *ratios* that
matter). :func:`fit_exposure` then scales every light of the run by one factor so the
render's median luminance matches the reference photo's; the factor is stored on the lights
collection and each light keeps its base power, so fitting again is idempotent.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import bpy
from mathutils import Matrix, Vector

from . import layout_props as lp

ROLE_LIGHTS = "lights"                  # the child collection
ROLE_LIGHT = "light"                    # each light object
BASE_ENERGY = lp.PREFIX + "base_energy"
EXPOSURE = lp.PREFIX + "exposure_scale"
SHADOW_OFF = lp.PREFIX + "shadow_off"   # on a lamp object whose shadow the build turned off
LAMP_WORDS = re.compile(r"lamp|light|pendant|chandelier|sconce|lantern|灯")
NOT_LAMP = re.compile(r"lightbox|light switch|skylight")
WARM = (1.0, 0.78, 0.56)                # ~3000 K, a household bulb
DAYLIGHT = (0.92, 0.96, 1.0)
SUN_COLOUR = (1.0, 0.96, 0.9)
W_PER_M2_WINDOW = 150.0
W_PER_M2_DEFAULT = 4.0
AMBIENT_SHARE = 0.3                     # the ceiling fill beside standing lamps, as a share of the default rig


@dataclass(frozen=True)
class WindowOpening:
    """A hole the builder cut into a wall for a window: centre (world), inward normal, size in metres."""

    object_id: str
    centre: tuple[float, float, float]
    normal: tuple[float, float, float]
    along: tuple[float, float, float]
    width: float
    height: float
    inset: float = 0.01   # how far into the room the light sits: in front of the window object's inner face


def lamp_kind(record: Any, label: str = "") -> str | None:
    """``"ceiling"`` (flush), ``"hanging"``, ``"wall"``, ``"spot"``, ``"standing"`` for a light-giving asset, else None."""
    text = " ".join(str(getattr(record, f, "") or "") for f in ("class_name", "retrieval_class")) if record else ""
    text = f"{text} {label}".lower()
    if not LAMP_WORDS.search(text) or NOT_LAMP.search(text):
        return None
    if "spot" in text:
        return "spot"
    if "ceiling light" in text or "ceiling lamp" in text or "吸顶" in text:
        return "ceiling"
    if any(w in text for w in ("pendant", "chandelier", "吊灯")):
        return "hanging"
    if "sconce" in text or "wall lamp" in text or "wall light" in text:
        return "wall"
    return "standing"


def lights_collection(coll: bpy.types.Collection) -> bpy.types.Collection | None:
    """The run's lights collection, if a build made one (found by role and run id, not by name)."""
    for child in coll.children:
        if child.get(lp.ROLE) == ROLE_LIGHTS and child.get(lp.RUN_ID) == coll.get(lp.RUN_ID):
            return child
    return None


def build_lights(coll: bpy.types.Collection, lamps: Sequence[tuple[bpy.types.Object, str]],
                 windows: Sequence[WindowOpening], room: dict[str, Any], camera_location: Sequence[float] | None,
                 notes: list[str], see_through: Sequence[bpy.types.Object] = ()) -> bpy.types.Collection:
    """(Re)make the run's lights. ``lamps``: (placed object, lamp kind); ``room``: ``poly``, ``z0``, ``z1``;
    ``see_through``: objects that must not cast shadows (windows: the sun shines through their glass).

    Returns the lights collection. Its visibility flags (the artist may have hidden it) are kept.
    """
    lights = lights_collection(coll)
    if lights is None:
        lights = bpy.data.collections.new(f"{coll.name} lights")
        lights[lp.ROLE], lights[lp.RUN_ID] = ROLE_LIGHTS, coll[lp.RUN_ID]
        coll.children.link(lights)
    clear_lights(lights)
    shadowless = [o for o, _ in lamps] + list(see_through)
    keep = {o.as_pointer() for o in shadowless}
    for obj in coll.objects:  # objects that stopped being lamps or windows cast shadows again
        if obj.get(SHADOW_OFF) and obj.as_pointer() not in keep:
            obj.visible_shadow = True
            del obj[SHADOW_OFF]
    for obj in shadowless:  # a shade would swallow its own light; a window box would block the daylight
        if obj.visible_shadow:
            obj.visible_shadow = False
            obj[SHADOW_OFF] = True
    made = 0
    for obj, kind in lamps:
        _lamp_light(lights, obj, kind, room)
        made += 1
    for w in windows:
        _window_light(lights, w)
    if windows:
        _sun(lights, max(windows, key=lambda w: w.width * w.height))
    if not lamps and not windows:
        _default_rig(lights, room, camera_location)
        notes.append("lights: no lamp or window was found; a soft default rig lights the room "
                     "(delete the lights collection to light it yourself).")
    else:
        notes.append(f"lights: {made} lamp light(s) and {len(windows)} window(s) light the room.")
        if not windows and not any(kind in ("ceiling", "hanging") for _, kind in lamps):
            # Standing lamps alone leave a photo's room darker than it looked: what lit the rest went unseen.
            _default_rig(lights, room, None, share=AMBIENT_SHARE)
            notes.append("lights: only standing lamps were found; a weak ceiling fill stands in for the light "
                         "the photo's room got from elsewhere.")
    apply_exposure(lights, float(lights.get(EXPOSURE, 1.0)))
    return lights


def clear_lights(lights: bpy.types.Collection) -> None:
    """Remove every light object (and its data) the build made in ``lights``; others' objects are left alone."""
    for obj in list(lights.objects):
        if obj.get(lp.ROLE) != ROLE_LIGHT:
            continue
        data = obj.data
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            bpy.data.lights.remove(data)


def _new_light(lights: bpy.types.Collection, name: str, kind: str, energy: float, colour: Sequence[float],
               matrix: Matrix) -> bpy.types.Object:
    data = bpy.data.lights.new(name, kind)
    data.color = tuple(colour)
    obj = bpy.data.objects.new(name, data)
    obj.matrix_world = matrix
    obj[lp.ROLE], obj[lp.RUN_ID], obj[BASE_ENERGY] = ROLE_LIGHT, lights[lp.RUN_ID], float(energy)
    lights.objects.link(obj)
    return obj


def _looking(location: Sequence[float], direction: Sequence[float]) -> Matrix:
    """A matrix placing a light at ``location`` with its −Z (the way lights shine) along ``direction``."""
    d = Vector(direction).normalized()
    rot = (-d).to_track_quat("Z", "Y").to_matrix().to_4x4()
    return Matrix.Translation(Vector(location)) @ rot


def _lamp_light(lights: bpy.types.Collection, obj: bpy.types.Object, kind: str, room: dict[str, Any]) -> None:
    """A light at the lamp's shade, found from the placed object's world box."""
    corners = [obj.matrix_world @ Vector(c) for c in obj.bound_box]
    lo = Vector([min(c[i] for c in corners) for i in range(3)])
    hi = Vector([max(c[i] for c in corners) for i in range(3)])
    centre, height = (lo + hi) / 2, max(hi.z - lo.z, 0.05)
    footprint = max(0.1, min(hi.x - lo.x, hi.y - lo.y))
    name = f"{obj.name} light"
    if kind == "ceiling":
        z = min(lo.z - 0.02, room["z1"] - 0.03)
        light = _new_light(lights, name, "AREA", 100.0, WARM, _looking((centre.x, centre.y, z), (0, 0, -1)))
        light.data.shape, light.data.size = "DISK", footprint
    elif kind == "spot":
        z = lo.z + 0.5 * height
        light = _new_light(lights, name, "SPOT", 80.0, WARM, _looking((centre.x, centre.y, z), (0, 0, -1)))
        light.data.spot_size = math.radians(60)
    else:
        watts = {"standing": 60.0 if height > 0.9 else 30.0, "hanging": 60.0, "wall": 30.0}[kind]
        if kind == "hanging":
            z = lo.z + min(0.15, 0.25 * height)
            if footprint > 0.6:  # a chandelier: bigger and brighter
                watts = 150.0
        else:
            z = hi.z - min(0.18, 0.2 * height)
        light = _new_light(lights, name, "POINT", watts, WARM, Matrix.Translation((centre.x, centre.y, z)))
        light.data.shadow_soft_size = min(0.15, 0.3 * footprint)
    light[lp.OBJECT_ID] = str(obj.get(lp.OBJECT_ID, obj.name))


def _window_light(lights: bpy.types.Collection, w: WindowOpening) -> None:
    """An area light filling the opening, shining into the room (invisible to the camera: the hole shows)."""
    n = Vector(w.normal).normalized()
    loc = Vector(w.centre) + n * max(w.inset, 0.01)
    along = Vector(w.along).normalized()
    rot = Matrix((along, n.cross(along) * -1.0, -n)).transposed().to_4x4()  # columns: x along, y up, z out
    light = _new_light(lights, f"{w.object_id} daylight", "AREA", W_PER_M2_WINDOW * w.width * w.height, DAYLIGHT,
                       Matrix.Translation(loc) @ rot)
    light.data.shape = "RECTANGLE"
    light.data.size, light.data.size_y = max(w.width, 0.05), max(w.height, 0.05)
    light.visible_camera = False
    light.visible_glossy = False
    light[lp.OBJECT_ID] = w.object_id


def _sun(lights: bpy.types.Collection, w: WindowOpening) -> None:
    """A sun shining in through the window at 35° elevation (walls and ceiling shade the rest)."""
    inward = Vector(w.normal).normalized()
    direction = Vector((inward.x, inward.y, 0.0)).normalized() * math.cos(math.radians(35))
    direction.z = -math.sin(math.radians(35))
    sun = _new_light(lights, "sun", "SUN", 3.0, SUN_COLOUR, _looking(Vector(w.centre) - direction * 3.0, direction))
    sun.data.angle = math.radians(2.0)


def _default_rig(lights: bpy.types.Collection, room: dict[str, Any], camera_location: Sequence[float] | None,
                 share: float = 1.0) -> None:
    """A ceiling panel over the middle of the floor (``share`` of its full power) and a weak fill at the camera."""
    poly = room["poly"]
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    sx, sy = max(0.5, 0.6 * (max(xs) - min(xs))), max(0.5, 0.6 * (max(ys) - min(ys)))
    area = _polygon_area(poly)
    z = room["z1"] - 0.05
    panel = _new_light(lights, "ceiling panel", "AREA", share * W_PER_M2_DEFAULT * max(area, 1.0), WARM,
                       _looking((cx, cy, z), (0, 0, -1)))
    panel.data.shape, panel.data.size, panel.data.size_y = "RECTANGLE", sx, sy
    panel.visible_camera = False
    if camera_location is not None:
        loc = Vector(camera_location)
        loc.z = min(loc.z, room["z1"] - 0.1)
        target = Vector((cx, cy, room["z0"] + 0.8))
        fill = _new_light(lights, "camera fill", "AREA", 0.25 * panel[BASE_ENERGY], (1.0, 1.0, 1.0),
                          _looking(loc, target - loc))
        fill.data.shape, fill.data.size = "DISK", 1.0
        fill.visible_camera = False


def _polygon_area(poly: Sequence[Sequence[float]]) -> float:
    return abs(sum(p[0] * q[1] - q[0] * p[1] for p, q in zip(poly, [*poly[1:], poly[0]]))) / 2


def apply_exposure(lights: bpy.types.Collection, scale: float) -> None:
    """Every light of the run at ``base power × scale``; the scale is kept on the collection."""
    lights[EXPOSURE] = float(scale)
    for obj in lights.objects:
        if obj.get(lp.ROLE) == ROLE_LIGHT and obj.type == "LIGHT" and BASE_ENERGY in obj:
            obj.data.energy = float(obj[BASE_ENERGY]) * scale


def fit_exposure(coll: bpy.types.Collection, target_median: float,
                 measure: Callable[[], float], *, tries: int = 3, tolerance: float = 0.1,
                 notes: list[str] | None = None) -> float:
    """Scale the run's lights until ``measure()`` (the render's median luminance) is near ``target_median``.

    ``measure`` renders with the lights as they are and returns the median of the linear
    luminance. The view transform may not be linear (AgX), so a few multiplicative steps are
    taken; a black render first jumps by 16×. Returns the final scale.
    """
    lights = lights_collection(coll)
    if lights is None:
        return 1.0
    scale = float(lights.get(EXPOSURE, 1.0))
    for _ in range(tries):
        current = measure()
        if current <= 1e-6:
            step = 16.0
        else:
            ratio = target_median / current
            if abs(ratio - 1.0) <= tolerance:
                break
            step = ratio
        scale = min(max(scale * step, 1e-3), 1e4)
        apply_exposure(lights, scale)
    if notes is not None:
        notes.append(f"lights: exposure scaled ×{scale:.2f} so the render's median luminance matches "
                     f"{target_median:.3f} (linear) of the reference photo.")
    return scale


def median_luminance(pixels: Iterable[float], channels: int = 4) -> float:
    """Median linear luminance (Rec. 709) of display-encoded sRGB pixels (what an 8-bit photo or PNG holds)."""
    import numpy as np

    px = np.asarray(pixels, dtype=np.float64).reshape(-1, channels)[:, :3]
    lin = np.where(px <= 0.04045, px / 12.92, ((px + 0.055) / 1.055) ** 2.4)
    return float(np.median(lin @ np.array([0.2126, 0.7152, 0.0722])))


def lamp_summary(lights: bpy.types.Collection) -> list[dict[str, Any]]:
    """The lights a build made, for reports: name, type, power, location."""
    return [{"name": o.name, "type": o.data.type, "energy": float(o.data.energy), "base": float(o.get(BASE_ENERGY, 0)),
             "location": list(o.matrix_world.translation), "object_id": str(o.get(lp.OBJECT_ID, ""))}
            for o in lights.objects if o.get(lp.ROLE) == ROLE_LIGHT]

