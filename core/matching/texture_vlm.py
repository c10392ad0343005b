"""Background textures chosen by Claude from the texture captions (used when an Anthropic key is set).

Why a tool call: the answer must be one known texture id per surface. The request offers a
``choose_textures`` tool whose JSON schema enumerates the ids per kind and forces the model
to call it, and the answer is validated against that schema (the perception package's
validator); a reply that does not fit is a ModelOutputError, which the texture step turns
into a note and the colour-statistics choice. The image goes out as RGB PNG via the
perception package's encoder; the client is the real ``anthropic`` SDK.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..config import Secrets, VlmSettings
from ..errors import ApiAuthError, ApiError, ApiQuotaError, ModelOutputError

TOOL_NAME = "choose_textures"
SYSTEM = ("You choose background materials for a 3D room that must look like the photo. For each surface "
          "(floor, wall, ceiling) pick the one texture whose description best matches what the photo shows; "
          "if a surface is not visible, pick the most plausible one for this room. Answer only with the tool.")


def texture_tool(options: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    """The tool definition: one enumerated id per surface kind that has options."""
    props = {k: {"type": "string", "enum": [i for i, _ in opts]} for k, opts in options.items() if opts}
    return {"name": TOOL_NAME, "description": "Report the chosen texture id for each surface.",
            "input_schema": {"type": "object", "properties": props, "required": sorted(props),
                             "additionalProperties": False}}


def prompt_text(options: dict[str, list[tuple[str, str]]]) -> str:
    lines = ["Textures available (id: description):"]
    for kind, opts in options.items():
        if opts:
            lines.append(f"{kind}:")
            lines += [f"- {i}: {caption}" for i, caption in opts]
    return "\n".join(lines)


class ClaudeTextureChooser:
    """``chooser(image, {kind: [(id, caption)]}) -> {kind: id}`` through Anthropic's Messages API."""

    def __init__(self, settings: VlmSettings, secrets: Secrets, *, max_retries: int = 2) -> None:
        import anthropic

        if not secrets.anthropic_api_key:
            raise ApiAuthError("No Anthropic API key is set.", "Set ANTHROPIC_API_KEY to choose textures by captions.")
        self.settings = settings
        self._client = anthropic.Anthropic(api_key=str(secrets.anthropic_api_key), base_url=settings.base_url or None,
                                           timeout=settings.timeout_s, max_retries=max_retries)

    def __call__(self, image: np.ndarray, options: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
        import anthropic

        from ..perception.claude_vlm import encode_png_rgb
        from ..perception.json_check import validate

        tool = texture_tool(options)
        content = [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                "data": encode_png_rgb(image)}},
                   {"type": "text", "text": prompt_text(options)}]
        try:
            response = self._client.messages.create(
                model=self.settings.model, max_tokens=512, system=SYSTEM, messages=[{"role": "user", "content": content}],
                tools=[tool], tool_choice={"type": "tool", "name": TOOL_NAME})
        except (anthropic.AuthenticationError, anthropic.PermissionDeniedError):
            raise ApiAuthError("Anthropic refused the API key for texture choice.",
                               "Set a valid ANTHROPIC_API_KEY, or unset it to choose textures by colour.") from None
        except anthropic.RateLimitError:
            raise ApiQuotaError("Anthropic rate limit reached while choosing textures.") from None
        except anthropic.APIError as exc:
            raise ApiError(f"Anthropic texture choice failed ({type(exc).__name__}).") from None
        if not isinstance(response, anthropic.types.Message):
            raise ApiError("Anthropic's answer was not JSON.", "Check vlm.base_url.")
        use = next((b for b in response.content if getattr(b, "type", "") == "tool_use"), None)
        if use is None:
            raise ModelOutputError("The VLM answered the texture question without the tool.")
        problems = validate(use.input, tool["input_schema"], "input")
        if problems:
            raise ModelOutputError(f"The VLM's texture answer does not fit: {'; '.join(problems[:3])}.")
        return {str(k): str(v) for k, v in use.input.items()}


def texture_chooser(settings: VlmSettings, secrets: Secrets) -> ClaudeTextureChooser | None:
    """The VLM chooser when a key is set, else None (textures by colour statistics)."""
    return ClaudeTextureChooser(settings, secrets) if secrets.anthropic_api_key else None
