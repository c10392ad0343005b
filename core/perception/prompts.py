"""Every question we ask a model, kept as data in one place (our own wording).

Changing what the VLM is asked, or the default detection vocabulary, means editing this
module only. The VLM answers through one tool whose JSON schema is :data:`SCENE_TOOL`, so the
answer is validated against it before the pipeline trusts it.
"""
from __future__ import annotations

# Detection vocabulary used when there is neither a library nor a VLM to choose it (with a library,
# core.perception.vocabulary_prompt builds the prompt from its classes, or from what the VLM sees).
# Floor-like labels feed the floor fit.
DEFAULT_LABELS: tuple[str, ...] = (
    "bed", "sofa", "armchair", "chair", "office chair", "stool", "table", "dining table", "coffee table", "desk",
    "nightstand", "cabinet", "wardrobe", "bookshelf", "shelf", "tv stand", "tv", "dresser", "lamp", "floor lamp",
    "ceiling lamp", "chandelier", "plant", "vase", "painting", "mirror", "clock", "curtain", "rug", "carpet",
    "pillow", "book", "bench", "refrigerator", "sink", "toilet", "bathtub", "washing machine",
)
FLOOR_LABELS: tuple[str, ...] = ("floor", "rug", "carpet", "mat")
STRUCTURE_LABELS: tuple[str, ...] = ("floor", "wall", "ceiling", "window", "door")
# Windows and doors are placed in their walls (core.perception.openings), not discarded with the room's surfaces.
ROOM_SURFACE_LABELS: tuple[str, ...] = ("floor", "wall", "ceiling")
OPENING_LABELS: tuple[str, ...] = ("window", "door")

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


# ---- the VLM names what it sees, in the catalogue's own words (detector prompt) ------------------
LIST_SYSTEM = (
    "You list the objects visible in an indoor photograph for a program that detects them and rebuilds the "
    "room from a catalogue of 3D assets. Use only names from the catalogue list you are given. Answer only "
    "through the tool."
)

LIST_TOOL: dict = {
    "name": "list_objects",
    "description": "List the catalogue names of the objects visible in the image.",
    "input_schema": {
        "type": "object",
        "properties": {
            "objects": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["objects"],
        "additionalProperties": False,
    },
}


def list_prompt(class_names: list[str]) -> str:
    """The text sent with the image when the VLM chooses the detector's labels."""
    return "\n".join([
        "Catalogue names: " + ", ".join(class_names),
        "List every kind of object you can see in the image, each once, by the catalogue name that fits it best "
        "(write the name exactly as listed). Include windows and doors if the catalogue names them. Leave out "
        "the floor, the walls and the ceiling, and anything you cannot see.",
    ])


def list_retry_prompt(error: str) -> str:
    return (f"Your previous answer could not be used: {error}. Call the tool list_objects again with a list of "
            "catalogue names only.")
