"""Every question we ask a model, kept as data in one place (our own wording).

Changing what the VLM is asked, or the default detection vocabulary, means editing this
module only. The VLM answers through one tool whose JSON schema is :data:`SCENE_TOOL`, so the
answer is validated against it before the pipeline trusts it.
"""
from __future__ import annotations

# Detection vocabulary used when the caller gives none (the library's categories are better:
# core.library.categories.library_labels(catalogue)). Floor-like labels feed the floor fit.
DEFAULT_LABELS: tuple[str, ...] = (
    "bed", "sofa", "armchair", "chair", "office chair", "stool", "table", "dining table", "coffee table", "desk",
    "nightstand", "cabinet", "wardrobe", "bookshelf", "shelf", "tv stand", "tv", "dresser", "lamp", "floor lamp",
    "ceiling lamp", "chandelier", "plant", "vase", "painting", "mirror", "clock", "curtain", "rug", "carpet",
    "pillow", "book", "bench", "refrigerator", "sink", "toilet", "bathtub", "washing machine",
)
FLOOR_LABELS: tuple[str, ...] = ("floor", "rug", "carpet", "mat")
STRUCTURE_LABELS: tuple[str, ...] = ("floor", "wall", "ceiling", "window", "door")

RELATIONS = ("on_floor", "on_object", "against_wall", "hanging_on_wall", "hanging_from_ceiling")

SYSTEM = (
    "You describe the spatial layout of an indoor photograph for a program that rebuilds the room in 3D. "
    "You are given numbered objects that a detector found, each with its label and pixel box, and the list "
    "of object categories the program can place. Answer only through the tool, about the listed objects only."
)

QUESTIONS: tuple[str, ...] = (
    "For every listed object, say whether it is really there as labelled (keep) — drop duplicates and "
    "things that are part of the room itself.",
    "Say how each object is held up: standing on the floor, standing on another listed object (give its id), "
    "standing on the floor with its back flush against a wall, hanging on a wall, or hanging from the ceiling.",
    "Group objects that are identical copies of one another (same model of chair, twin lamps).",
    "Say which listed object each seat or sofa is turned towards, if any (chairs to their table, a sofa to the TV).",
    "For objects standing on the floor, say whether the measured size given for it is plausible for its kind.",
    "List categories from the allowed list that are clearly visible but were not detected.",
)

SCENE_TOOL: dict = {
    "name": "report_scene",
    "description": "Report relations, groups and facing for the numbered objects.",
    "input_schema": {
        "type": "object",
        "properties": {
            "objects": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "keep": {"type": "boolean"},
                        "relation": {"type": "string", "enum": list(RELATIONS)},
                        "support": {"type": ["string", "null"]},
                        "facing": {"type": ["string", "null"]},
                        "plausible_size": {"type": ["boolean", "null"]},
                    },
                    "required": ["id", "keep", "relation"],
                    "additionalProperties": False,
                },
            },
            "groups": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
            "missing_labels": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["objects"],
        "additionalProperties": False,
    },
}


def user_prompt(objects: list[dict], labels: list[str]) -> str:
    """The text sent with the image: the questions, the allowed categories, then the objects."""
    lines = ["Questions:"] + [f"{i + 1}. {q}" for i, q in enumerate(QUESTIONS)]
    lines.append("Allowed categories: " + ", ".join(labels))
    lines.append("Objects (id: label, box [x0, y0, x1, y1] in pixels, measured size w×d×h in metres):")
    for o in objects:
        size = o.get("size")
        shown = "unknown" if size is None else "×".join(f"{v:.2f}" for v in size)
        lines.append(f"- {o['id']}: {o['label']}, box {[round(v) for v in o['box']]}, size {shown}")
    return "\n".join(lines)


def retry_prompt(error: str) -> str:
    """Shown to the model after an answer that failed validation, so it can correct itself once."""
    return (f"Your previous answer could not be used: {error}. Call the tool report_scene again with "
            "input that follows its schema exactly, mentioning only the listed object ids.")
