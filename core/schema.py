"""The hand-off objects between pipeline stages, with a versioned JSON form.

Units and frames (the same everywhere in the product):

* **Units** are metres and radians.
* **World frame**: Blender's axes, Z up, the floor is the plane z = 0, X and Y span the floor.
* **Camera frame** (OpenCV): x right, y down, z forward. ``Camera.world_from_camera`` is a 4x4
  rigid transform mapping camera-frame points into the world frame.
* **Pixels**: x to the right, y down, origin at the top-left corner of the image.
* **Object boxes**: ``Box3D`` is a centre in world coordinates, a size along the box's own
  axes (x, y, z) and a yaw: the angle of the box's x axis about world Z, counter-clockwise
  seen from above. A size may be 0 along one axis for flat things (rugs, posters).
* **Asset frame**: every library asset has its origin at the bottom centre of its bounding
  box, Z up, and its front facing −Y. A ``Placement.transform`` maps the asset frame (after
  ``Placement.scale``) into the world frame.
* **Structure ids**: the room's planes are named ``floor``, ``ceiling`` and ``wall_0``,
  ``wall_1``, …; an object's support is one of those or another object's id.

Each class validates itself on construction and names the bad field and value in a
:class:`~core.errors.SchemaError`. ``to_json``/``from_json`` carry ``schema_version`` so
run folders written by older versions are recognised.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from . import checks
from .errors import SchemaError
from .records import SCHEMA_VERSION, Record

__all__ = ["SCHEMA_VERSION", "Record", "Relation", "Camera", "Plane", "Detection", "Box3D", "SceneObject", "SceneGraph",
           "Observation", "InnerSpace", "AssetRecord", "RankedAsset", "PoseHypothesis", "Candidate",
           "CandidateSet", "Placement", "Layout", "is_structure_id"]
PLANE_KINDS = ("floor", "wall", "ceiling")


class Relation(StrEnum):
    """How a placed object relates to what holds it; one vocabulary for problem, solver, metrics and props.

    A ``StrEnum`` so that files and Blender custom properties keep the plain words, while code
    compares against members instead of bare strings that could be misspelt.
    """

    FLOOR = "floor"                # stands on the floor, free of walls
    ON = "on"                      # rests on another object's top (or a floor object named as parent)
    IN = "in"                      # sits in an inner space (shelf) of its parent
    AGAINST_WALL = "against_wall"  # stands on the floor, back flush with a wall
    WALL_HUNG = "wall_hung"        # hangs on a wall, bottom off the floor
    CEILING_HUNG = "ceiling_hung"  # hangs from the ceiling
    FREE = "free"                  # no rule applies (kept where perception saw it)


RELATIONS = tuple(r.value for r in Relation)
SCALING_STRATEGIES = ("ISOTROPIC", "RADIAL", "ALIGNED_ANISOTROPIC", "SORTED_ANISOTROPIC")
IDENTITY4 = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0), (0.0, 0.0, 0.0, 1.0))
_WALL_ID = re.compile(r"wall_\d+")


def is_structure_id(ident: str) -> bool:
    """True for ``floor``, ``ceiling`` and ``wall_<n>``: the room itself, not an object."""
    return ident in ("floor", "ceiling") or bool(_WALL_ID.fullmatch(ident))


@dataclass
class Camera(Record):
    """Pinhole intrinsics in pixels, image size, and the camera's pose in the world."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    world_from_camera: Any = IDENTITY4

    def __post_init__(self) -> None:
        self.fx = checks.number("Camera.fx", self.fx, minimum=0, strict_min=True)
        self.fy = checks.number("Camera.fy", self.fy, minimum=0, strict_min=True)
        self.cx = checks.number("Camera.cx", self.cx)
        self.cy = checks.number("Camera.cy", self.cy)
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise SchemaError(f"Camera.{name}", value, "must be a positive whole number of pixels")
        self.world_from_camera = checks.matrix("Camera.world_from_camera", self.world_from_camera)
        checks.rotation_part_is_rigid("Camera.world_from_camera", self.world_from_camera)

    @property
    def intrinsics(self) -> tuple[tuple[float, float, float], ...]:
        """The 3x3 K matrix."""
        return ((self.fx, 0.0, self.cx), (0.0, self.fy, self.cy), (0.0, 0.0, 1.0))


@dataclass
class Plane(Record):
    """A room surface: points x on it satisfy ``normal · x = offset``; the normal points into the room.

    ``extent`` is the visible part as a polygon of world points (may be empty when unknown).
    """

    id: str
    kind: str
    normal: Any
    offset: float
    extent: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.kind = checks.choice("Plane.kind", self.kind, PLANE_KINDS)
        self.id = checks.text("Plane.id", self.id)
        expected = "wall_<n>" if self.kind == "wall" else self.kind
        if (self.kind == "wall" and not _WALL_ID.fullmatch(self.id)) or (self.kind != "wall" and self.id != self.kind):
            raise SchemaError("Plane.id", self.id, f"a {self.kind} plane must be named {expected}")
        n = checks.vector("Plane.normal", self.normal, 3)
        length = sum(c * c for c in n) ** 0.5
        if length < 1e-9:
            raise SchemaError("Plane.normal", self.normal, "must not be the zero vector")
        self.normal = tuple(c / length for c in n)
        self.offset = checks.number("Plane.offset", self.offset)
        self.extent = [checks.vector(f"Plane.extent[{i}]", p, 3) for i, p in enumerate(self.extent or [])]


@dataclass
class Detection(Record):
    """A 2D detection: label, score, pixel box [x0, y0, x1, y1] and an optional mask.

    ``mask`` is None, ``{"rle": {"size": [h, w], "counts": ...}}`` (COCO RLE) or ``{"png": path}``.
    """

    label: str
    score: float
    box: Any
    mask: dict | None = None

    def __post_init__(self) -> None:
        self.label = checks.text("Detection.label", self.label)
        self.score = checks.number("Detection.score", self.score, minimum=0.0, maximum=1.0)
        self.box = checks.vector("Detection.box", self.box, 4, minimum=0.0)
        if self.box[2] <= self.box[0] or self.box[3] <= self.box[1]:
            raise SchemaError("Detection.box", self.box, "needs x1 > x0 and y1 > y0")
        if self.mask is not None:
            _check_mask(self.mask)


def _check_mask(mask: Any) -> None:
    if not isinstance(mask, dict) or len(mask) != 1 or next(iter(mask)) not in ("rle", "png"):
        raise SchemaError("Detection.mask", mask, 'must be {"rle": {...}} or {"png": "path"}')
    if "png" in mask:
        checks.text("Detection.mask.png", mask["png"])
        return
    rle = mask["rle"]
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise SchemaError("Detection.mask.rle", rle, 'must have "size": [h, w] and "counts"')
    size = checks.vector("Detection.mask.rle.size", rle["size"], 2, minimum=1)
    if any(s != int(s) for s in size):
        raise SchemaError("Detection.mask.rle.size", rle["size"], "must be whole numbers")
    if not isinstance(rle["counts"], (str, list)):
        raise SchemaError("Detection.mask.rle.counts", rle["counts"], "must be a string or a list of run lengths")


@dataclass
class Box3D(Record):
    """An upright box: world centre, size along its own axes, yaw of its x axis about Z."""

    center: Any
    size: Any
    yaw: float = 0.0

    def __post_init__(self) -> None:
        self.center = checks.vector("Box3D.center", self.center, 3)
        self.size = checks.vector("Box3D.size", self.size, 3, minimum=0.0)
        self.yaw = checks.number("Box3D.yaw", self.yaw)


@dataclass
class SceneObject(Record):
    """One object of the scene graph with its relations.

    ``notes`` are the guesses and fallbacks that concern this object (a side cut off by the
    frame, a size from a class prior, a changed support), for the Selected Object panel.
    ``removed`` is the reason when the object is kept in the run but not placed (the VLM said
    it is not real, a composite asset absorbed it); the artist can restore it.

    ``support`` is what it rests on or hangs from (``floor``, ``ceiling``, ``wall_<n>`` or an
    object id); ``against_walls`` the walls it stands flush with; ``group`` names a set of
    identical instances; ``facing`` the object it turns towards.
    """

    id: str
    label: str
    detection: Detection | None = None
    box: Box3D | None = None
    support: str | None = "floor"
    against_walls: list = field(default_factory=list)
    hanging_on_wall: bool = False
    hanging_from_ceiling: bool = False
    group: str | None = None
    facing: str | None = None
    confidence: float = 1.0
    notes: list = field(default_factory=list)
    removed: str | None = None
    nested: ClassVar[dict[str, Any]] = {"detection": Detection, "box": Box3D}

    def __post_init__(self) -> None:
        self.id = checks.text("SceneObject.id", self.id)
        if is_structure_id(self.id):
            raise SchemaError("SceneObject.id", self.id, "is reserved for the room's planes")
        self.label = checks.text("SceneObject.label", self.label)
        self.support = checks.optional_text(f"SceneObject[{self.id}].support", self.support)
        self.against_walls = [checks.text(f"SceneObject[{self.id}].against_walls", w) for w in self.against_walls]
        for w in self.against_walls:
            if not _WALL_ID.fullmatch(w):
                raise SchemaError(f"SceneObject[{self.id}].against_walls", w, "must name walls as wall_<n>")
        self.hanging_on_wall = checks.flag("SceneObject.hanging_on_wall", self.hanging_on_wall)
        self.hanging_from_ceiling = checks.flag("SceneObject.hanging_from_ceiling", self.hanging_from_ceiling)
        self.group = checks.optional_text("SceneObject.group", self.group)
        self.facing = checks.optional_text("SceneObject.facing", self.facing)
        self.confidence = checks.number("SceneObject.confidence", self.confidence, minimum=0.0, maximum=1.0)
        self.notes = checks.texts(f"SceneObject[{self.id}].notes", self.notes)
        self.removed = checks.optional_text(f"SceneObject[{self.id}].removed", self.removed)


def check_references(where: str, ids: list[str], links: dict[str, dict[str, str | None]],
                     walls: set[str] | None = None) -> None:
    """Every link names an existing object or a structure (and an existing wall when walls are known)."""
    known = set(ids)
    for relation, mapping in links.items():
        for owner, target in mapping.items():
            if target is None:
                continue
            if target == owner:
                raise SchemaError(f"{where}[{owner}].{relation}", target, "an object cannot refer to itself")
            if target in known:
                continue
            if not is_structure_id(target):
                raise SchemaError(f"{where}[{owner}].{relation}", target, "names no object or room plane")
            if walls is not None and _WALL_ID.fullmatch(target) and target not in walls:
                raise SchemaError(f"{where}[{owner}].{relation}", target, "names a wall that this room does not have")


@dataclass
class SceneGraph(Record):
    """Objects and their relations; ``source`` says how relations were decided (e.g. geometry-only)."""

    objects: list = field(default_factory=list)
    source: str = "geometry"
    notes: list = field(default_factory=list)
    nested: ClassVar[dict[str, Any]] = {"objects": [SceneObject]}

    def __post_init__(self) -> None:
        self.notes = checks.texts("SceneGraph.notes", self.notes, allow_empty=True)
        self.validate()

    def validate(self, walls: set[str] | None = None) -> None:
        ids = [o.id for o in self.objects]
        checks.unique_ids("SceneGraph.objects.id", ids)
        check_references("SceneObject", ids, {
            "support": {o.id: o.support for o in self.objects},
            "facing": {o.id: o.facing for o in self.objects},
        }, walls)
        for o in self.objects:
            for w in o.against_walls:
                check_references("SceneObject", ids, {"against_walls": {o.id: w}}, walls)
        checks.no_support_cycle("SceneObject.support", {o.id: o.support for o in self.objects})

    def by_id(self) -> dict[str, SceneObject]:
        return {o.id: o for o in self.objects}


@dataclass
class Observation(Record):
    """Everything perception learned from one image (stage output of ``perceive``)."""

    image_path: str
    camera: Camera
    planes: list = field(default_factory=list)
    graph: SceneGraph = field(default_factory=SceneGraph)
    depth_path: str | None = None
    provenance: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    nested: ClassVar[dict[str, Any]] = {"camera": Camera, "planes": [Plane], "graph": SceneGraph}

    def __post_init__(self) -> None:
        checks.text("Observation.image_path", self.image_path)
        self.notes = checks.texts("Observation.notes", self.notes, allow_empty=True)
        checks.unique_ids("Observation.planes.id", [p.id for p in self.planes])
        self.graph.validate(walls={p.id for p in self.planes if p.kind == "wall"})


@dataclass
class InnerSpace(Record):
    """A placement space inside an asset (a shelf): transform in the asset frame, size as fractions."""

    name: str
    transform: Any
    scale_ratio: Any

    def __post_init__(self) -> None:
        self.name = checks.text("InnerSpace.name", self.name)
        self.transform = checks.matrix(f"InnerSpace[{self.name}].transform", self.transform)
        self.scale_ratio = checks.vector(f"InnerSpace[{self.name}].scale_ratio", self.scale_ratio, 3, minimum=0.0)


@dataclass
class AssetRecord(Record):
    """One usable library asset (catalogue row resolved to a file)."""

    id: str
    name: str
    class_name: str
    retrieval_class: str
    size: Any
    scaling_strategy: str = "ISOTROPIC"
    align_to_wall_normal: bool = False
    caption: str = ""
    path: str | None = None
    inner_spaces: list = field(default_factory=list)
    nested: ClassVar[dict[str, Any]] = {"inner_spaces": [InnerSpace]}

    def __post_init__(self) -> None:
        self.id = checks.text("AssetRecord.id", self.id)
        self.name = checks.text(f"AssetRecord[{self.id}].name", self.name)
        self.class_name = checks.text(f"AssetRecord[{self.id}].class_name", self.class_name)
        self.retrieval_class = checks.text(f"AssetRecord[{self.id}].retrieval_class", self.retrieval_class)
        self.size = checks.vector(f"AssetRecord[{self.id}].size", self.size, 3, minimum=0.0)
        if sum(1 for s in self.size if s > 0) < 2:
            raise SchemaError(f"AssetRecord[{self.id}].size", self.size, "at most one axis may be 0 (flat assets)")
        self.scaling_strategy = checks.choice(f"AssetRecord[{self.id}].scaling_strategy", self.scaling_strategy,
                                              SCALING_STRATEGIES)
        self.align_to_wall_normal = checks.flag("AssetRecord.align_to_wall_normal", self.align_to_wall_normal)


@dataclass
class RankedAsset(Record):
    """One retrieval result; ``parts`` keeps the score's terms for inspection."""

    asset_id: str
    score: float
    parts: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.asset_id = checks.text("RankedAsset.asset_id", self.asset_id)
        self.score = checks.number(f"RankedAsset[{self.asset_id}].score", self.score)


@dataclass
class PoseHypothesis(Record):
    """A yaw (about world Z) for the asset's front, with a confidence and where it came from."""

    yaw: float
    confidence: float
    source: str = "box"

    def __post_init__(self) -> None:
        self.yaw = checks.number("PoseHypothesis.yaw", self.yaw)
        self.confidence = checks.number("PoseHypothesis.confidence", self.confidence, minimum=0.0, maximum=1.0)


@dataclass
class Candidate(Record):
    """Ranked assets and pose hypotheses for one observed object (best first).

    ``fit`` is the top asset fitted to the object's observed points, when that ran:
    ``{"asset_id", "transform" (4x4 world_from_asset), "scale" (3), "residual_m", "source"}``;
    the solver starts from it.
    """

    object_id: str
    assets: list = field(default_factory=list)
    poses: list = field(default_factory=list)
    fit: dict | None = None
    nested: ClassVar[dict[str, Any]] = {"assets": [RankedAsset], "poses": [PoseHypothesis]}

    def __post_init__(self) -> None:
        self.object_id = checks.text("Candidate.object_id", self.object_id)


@dataclass
class CandidateSet(Record):
    """Stage output of ``match``: candidates per object and the chosen background textures."""

    candidates: list = field(default_factory=list)
    textures: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    nested: ClassVar[dict[str, Any]] = {"candidates": [Candidate]}

    def __post_init__(self) -> None:
        checks.unique_ids("CandidateSet.candidates.object_id", [c.object_id for c in self.candidates])
        self.notes = checks.texts("CandidateSet.notes", self.notes, allow_empty=True)
        for key in self.textures:
            checks.choice("CandidateSet.textures", key, PLANE_KINDS)


@dataclass
class Placement(Record):
    """Where one asset instance goes: ``transform`` maps the scaled asset frame into the world.

    ``box`` is the placed asset's world-space upright box (its bounds after scale and pose), so a
    layout can be scored from the file alone; ``notes`` carry this object's guesses and fallbacks.
    """

    object_id: str
    asset_id: str
    transform: Any = IDENTITY4
    scale: Any = (1.0, 1.0, 1.0)
    parent: str | None = "floor"
    relation: Relation = Relation.FLOOR
    pinned: bool = False
    inner_space: str | None = None
    walls: list = field(default_factory=list)
    box: Box3D | None = None
    notes: list = field(default_factory=list)
    nested: ClassVar[dict[str, Any]] = {"box": Box3D}

    def __post_init__(self) -> None:
        self.object_id = checks.text("Placement.object_id", self.object_id)
        if is_structure_id(self.object_id):
            raise SchemaError("Placement.object_id", self.object_id, "is reserved for the room's planes")
        self.asset_id = checks.text(f"Placement[{self.object_id}].asset_id", self.asset_id)
        self.transform = checks.matrix(f"Placement[{self.object_id}].transform", self.transform)
        self.scale = checks.vector(f"Placement[{self.object_id}].scale", self.scale, 3, minimum=0.0)
        if any(s <= 0 for s in self.scale):
            raise SchemaError(f"Placement[{self.object_id}].scale", self.scale, "must be positive on every axis")
        self.parent = checks.optional_text(f"Placement[{self.object_id}].parent", self.parent)
        self.relation = Relation(checks.choice(f"Placement[{self.object_id}].relation", self.relation, RELATIONS))
        self.pinned = checks.flag(f"Placement[{self.object_id}].pinned", self.pinned)
        self.inner_space = checks.optional_text(f"Placement[{self.object_id}].inner_space", self.inner_space)
        self.walls = [checks.text(f"Placement[{self.object_id}].walls", w) for w in self.walls]
        self.notes = checks.texts(f"Placement[{self.object_id}].notes", self.notes)


@dataclass
class Layout(Record):
    """Stage output of ``solve``: the room's planes and one placement per object."""

    placements: list = field(default_factory=list)
    planes: list = field(default_factory=list)
    textures: dict = field(default_factory=dict)
    camera: Camera | None = None
    run_id: str = ""
    notes: list = field(default_factory=list)
    nested: ClassVar[dict[str, Any]] = {"placements": [Placement], "planes": [Plane], "camera": Camera}

    def __post_init__(self) -> None:
        self.notes = checks.texts("Layout.notes", self.notes, allow_empty=True)
        self.validate()

    def validate(self) -> None:
        ids = [p.object_id for p in self.placements]
        checks.unique_ids("Layout.placements.object_id", ids)
        checks.unique_ids("Layout.planes.id", [p.id for p in self.planes])
        walls = {p.id for p in self.planes if p.kind == "wall"} if self.planes else None
        check_references("Placement", ids, {"parent": {p.object_id: p.parent for p in self.placements}}, walls)
        checks.no_support_cycle("Placement.parent", {p.object_id: p.parent for p in self.placements})

    def by_id(self) -> dict[str, Placement]:
        return {p.object_id: p for p in self.placements}
