"""One way to ask Claude for a forced tool answer: the SDK call with typed errors, and one corrective retry.

Why one module: the scene graph, the object list and the size question all send an image, force a
tool, check the answer against its schema and meaning, and show the model its mistake once. Written
three times, the error mapping drifted (one call knew HTTP 403 and 404, the others did not); here it
is written once, and every remote text is scrubbed of the key before it reaches a message.
"""
from __future__ import annotations

from typing import Any, Callable

from ..errors import ApiAuthError, ApiError, ApiQuotaError, ModelOutputError, redact

KEY_FIX = ("Check the Anthropic API key (Preferences → Imaginarium → Anthropic API key, or ANTHROPIC_API_KEY); "
           "without a key the scene graph comes from geometry alone.")


def call_tool(client: Any, *, model: str, timeout_s: float, key: str, system: str, tool: dict,
              messages: list[dict[str, Any]], max_tokens: int, what: str) -> Any:
    """One ``messages.create`` forcing ``tool``; every SDK failure becomes a typed error naming ``what``."""
    import anthropic

    def scrub(value: Any) -> str:
        return redact(str(value), [key])[:300]

    try:
        response = client.messages.create(model=model, max_tokens=max_tokens, system=system, messages=messages,
                                          tools=[tool], tool_choice={"type": "tool", "name": tool["name"]})
    except anthropic.AuthenticationError:
        raise ApiAuthError(f"Anthropic refused the API key (HTTP 401) for {what}.", KEY_FIX) from None
    except anthropic.PermissionDeniedError:
        raise ApiAuthError(f"Anthropic says this key may not use the model (HTTP 403) for {what}.",
                           f"Check the key's access to {model!r} or choose another vlm.model.") from None
    except anthropic.RateLimitError:
        raise ApiQuotaError("Anthropic rate limit or quota reached (HTTP 429), also after retries.") from None
    except anthropic.APITimeoutError:
        raise ApiError(f"Anthropic did not answer within {timeout_s:g} s.", "Retry, or raise vlm.timeout_s.") from None
    except anthropic.NotFoundError:
        raise ApiError(f"Anthropic does not know the model {model!r} (HTTP 404).",
                       "Set vlm.model to a current Claude model name.") from None
    except anthropic.APIStatusError as exc:
        raise ApiError(f"Anthropic answered HTTP {exc.status_code} to {what}, also after retries.") from None
    except anthropic.APIConnectionError as exc:
        raise ApiError(f"Cannot reach the Anthropic API ({scrub(exc)}).") from None
    except anthropic.APIResponseValidationError as exc:
        raise ApiError(f"Anthropic's answer was not valid ({scrub(exc)}).", "Retry; update the anthropic package.") \
            from None
    except anthropic.APIError as exc:
        raise ApiError(f"Cannot use the Anthropic API ({scrub(exc)}).") from None
    if not isinstance(response, anthropic.types.Message):  # the SDK hands back the raw text of a non-JSON body
        raise ApiError(f"Anthropic's answer was not JSON: {scrub(response)[:80]!r}.",
                       "Retry; if you set vlm.base_url, check that it points at the Anthropic API.")
    return response


def ask_tool(call: Callable[[list[dict[str, Any]]], Any], messages: list[dict[str, Any]], tool_name: str,
             check: Callable[[Any], str], retry_text: Callable[[str], str], *, model: str,
             what: str) -> tuple[Any, int]:
    """The tool's input once ``check`` finds nothing wrong (``''``), and how many calls it took.

    A wrong answer is shown to the model once, as the tool's error result, so it can correct
    itself; a second wrong answer is a :class:`ModelOutputError` naming what was wrong.
    """
    messages = list(messages)
    error = ""
    for attempt in range(2):
        response = call(messages)
        tool = next((b for b in response.content if getattr(b, "type", "") == "tool_use"), None)
        error = f"you answered without calling the tool {tool_name}" if tool is None else check(tool.input)
        if not error:
            return tool.input, attempt + 1  # type: ignore[union-attr]
        if attempt == 1:
            break
        messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in response.content]})
        text = {"type": "text", "text": retry_text(error)}
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool.id, "is_error": True, "content": [text]}
        ] if tool is not None else [text]})
    raise ModelOutputError(f"The VLM ({model}) twice answered {what} in the wrong shape: {error}.")
