"""What one text-to-image request asks for, checked before any model is touched.

Why a separate, torch-free module: the worker op, the CLI, the benchmark and the Blender panel
all build requests, and every bad value (a width that is not a multiple of 16, a template
without ``{prompt}``) should fail at once with a message that names the field and the fix,
not minutes later inside diffusers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from ..errors import BadInputError, ConfigError

# Prompt templates: data, not code. ``{prompt}`` is replaced by the user's text.
TEMPLATES: dict[str, str] = {
    "plain": "{prompt}",
    "room": "{prompt}. A photorealistic render of a furnished indoor room, wide-angle view from eye level, "
            "every piece of furniture fully visible, soft even lighting.",
    "catalogue": "{prompt}. Interior scene in the style of a furniture catalogue render, clean background walls, "
                 "realistic materials, no people, no text.",
}

MEMORY_MODES = ("auto", "gpu", "encoders_offload", "model_cpu_offload", "group_offload", "sequential_cpu_offload")
_MODE_ALIASES = {"model_offload": "model_cpu_offload", "sequential_offload": "sequential_cpu_offload",
                 "cuda": "gpu", "none": "gpu"}


def normalise_memory_mode(mode: str) -> str:
    """Accept the documented names and the short aliases used in ``[device] memory_mode``."""
    value = _MODE_ALIASES.get(str(mode).strip().lower(), str(mode).strip().lower())
    if value not in MEMORY_MODES:
        raise ConfigError(f"Unknown text-to-image memory mode {mode!r}.",
                          f"Use one of: {', '.join(MEMORY_MODES)} (or model_offload / sequential_offload).")
    return value


def render_prompt(prompt: str, template: str) -> str:
    """Apply a named template (see :data:`TEMPLATES`) or a custom one containing ``{prompt}``."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInputError("The text-to-image prompt is empty.", "Type a description of the room to generate.")
    text = TEMPLATES.get(template, template)
    if "{prompt}" not in text:
        raise ConfigError(f"Prompt template {template!r} is neither a known name nor contains '{{prompt}}'.",
                          f"Use one of {', '.join(TEMPLATES)} or a text with {{prompt}} in it.")
    return text.replace("{prompt}", prompt.strip())


@dataclass
class GenerationOptions:
    """One request: the prompt and everything that changes the pixels (all of it goes into PNG metadata)."""

    prompt: str
    template: str = "plain"
    n_images: int = 1
    seed: int = 0
    width: int = 1024
    height: int = 1024
    steps: int = 28
    guidance: float = 3.5
    max_sequence_length: int = 512
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 16 or value % 16:
                raise BadInputError(f"Image {name} {value!r} is not a positive multiple of 16.",
                                    f"Pick a {name} like 768, 1024 or 1360 (FLUX works on 16-pixel patches).")
        if not isinstance(self.steps, int) or not 1 <= self.steps <= 200:
            raise BadInputError(f"steps = {self.steps!r} must be an integer from 1 to 200.",
                                "FLUX.1-dev looks good at ~28 steps; use 4-8 for quick previews.")
        if not isinstance(self.n_images, int) or not 1 <= self.n_images <= 64:
            raise BadInputError(f"n_images = {self.n_images!r} must be an integer from 1 to 64.",
                                "Ask for fewer images per request.")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise BadInputError(f"seed = {self.seed!r} must be a non-negative integer.", "Use e.g. 0 or 1234.")
        if not 0 <= float(self.guidance) <= 30:
            raise BadInputError(f"guidance = {self.guidance!r} is outside 0..30.",
                                "FLUX.1-dev is distilled for guidance around 3.5.")
        if not 1 <= int(self.max_sequence_length) <= 512:
            raise BadInputError(f"max_sequence_length = {self.max_sequence_length!r} is outside 1..512.",
                                "Use 512 (FLUX.1-dev's T5 context) or less for speed.")
        self.full_prompt = render_prompt(self.prompt, self.template)

    @property
    def seeds(self) -> list[int]:
        """One seed per image, so any single image can be regenerated on its own."""
        return [self.seed + i for i in range(self.n_images)]

    def metadata(self) -> dict[str, Any]:
        data = asdict(self)
        data["full_prompt"] = self.full_prompt
        return data

    @classmethod
    def from_params(cls, params: Mapping[str, Any], defaults: Mapping[str, Any]) -> "GenerationOptions":
        """Build from worker params, falling back to the settings' ``[t2i]`` values; types are checked."""
        def pick(name: str, kind: type) -> Any:
            value = params.get(name, defaults.get(name))
            try:
                return kind(value) if kind is not int else _as_int(value)
            except (TypeError, ValueError):
                raise BadInputError(f"{name} = {value!r} is not a {kind.__name__}.",
                                    f"Pass {name} as a {kind.__name__}.") from None

        return cls(prompt=str(params.get("prompt") or ""), template=pick("template", str),
                   n_images=pick("n_images", int), seed=pick("seed", int), width=pick("width", int),
                   height=pick("height", int), steps=pick("steps", int), guidance=pick("guidance", float),
                   max_sequence_length=int(params.get("max_sequence_length", 512)))


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(value)
    return int(value)
