"""Open WebUI's own model connections: the models it lists, and a chat completion through them.

The Assistant writes its answers with a model Open WebUI already has (an OpenAI or Ollama
connection, a Workspace model), called in-process through Open WebUI's own chat completion
path with the user's request: Open WebUI checks the user's access to that model, adds the
connection's key and streams. ``open_webui`` is imported lazily, as in ``access``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from typing import Any

from scholargraph.faces.openwebui.scopes import PIPE_MODEL_ID


class ModelError(Exception):
    """Open WebUI could not answer with the chosen model (unknown, no access, connection error)."""


def _models_pool() -> Any:
    """The running Open WebUI's model table (``app.state.MODELS``), or None outside Open WebUI."""
    main = sys.modules.get("open_webui.main")
    app = getattr(main, "app", None)
    return getattr(getattr(app, "state", None), "MODELS", None)


def model_options(pool: Any = None) -> list[dict[str, str]]:
    """Choices for a base-model valve: '' (none) and every model Open WebUI lists now, except the
    Assistant itself. Open WebUI calls this when it draws the valves (``input.options``)."""
    pool = _models_pool() if pool is None else pool
    options = [{"value": "", "label": "(none: quote the papers, or ScholarGraph's own llm valves)"}]
    try:
        models = list(dict(pool.items()).values()) if pool is not None else []
    except Exception:
        models = []
    for model in sorted(models, key=lambda m: str(m.get("name") or m.get("id"))):
        mid = str(model.get("id") or "")
        if not mid or mid.split(".")[-1] == PIPE_MODEL_ID:
            continue
        name = str(model.get("name") or mid)
        options.append({"value": mid, "label": name if name == mid else f"{name} ({mid})"})
    return options


def select_field_extra(options_method: str) -> dict[str, Any]:
    """``json_schema_extra`` for a valve Open WebUI draws as a drop-down filled by ``options_method``."""
    return {"input": {"type": "select", "options": options_method}}


async def chat_stream(request: Any, user: dict[str, Any], model_id: str, messages: list[dict[str, str]],
                      temperature: float | None = None) -> AsyncIterator[str]:
    """Stream the answer of Open WebUI model ``model_id`` to ``messages``, as the user would get it.

    Goes through ``open_webui.utils.chat.generate_chat_completion`` with the chat's request and the
    user's own record: Open WebUI resolves the model, checks the user may use it, sends the
    connection's key and applies the model's parameters. Raises ``ModelError`` before any text
    when Open WebUI refuses or the connection fails."""
    from open_webui.utils.chat import generate_chat_completion

    from scholargraph.faces.openwebui.access import user_model

    if request is None:
        raise ModelError("no Open WebUI request to answer through")
    form: dict[str, Any] = {"model": model_id, "messages": messages, "stream": True}
    if temperature is not None:
        form["temperature"] = temperature
    owner = await user_model(user)
    try:
        response = await generate_chat_completion(request, form, user=owner)
    except Exception as exc:  # HTTPException(403 'Model not found'), 'Model not found', connection errors
        raise ModelError(_detail(exc)) from exc
    async for piece in _pieces(response):
        yield piece


async def _pieces(response: Any) -> AsyncIterator[str]:
    """Text pieces from what ``generate_chat_completion`` returned: an SSE StreamingResponse, a
    completion dict, or an error response."""
    if isinstance(response, dict):
        if response.get("error"):
            raise ModelError(_error_text(response["error"]))
        for choice in response.get("choices") or []:
            text = (choice.get("message") or {}).get("content")
            if text:
                yield text
        return
    iterator = getattr(response, "body_iterator", None)
    if iterator is None:
        status = getattr(response, "status_code", 0)
        body = getattr(response, "body", b"")
        raise ModelError(f"HTTP {status}: {_error_text(body)}" if status else f"unexpected reply {type(response).__name__}")
    if getattr(response, "status_code", 200) >= 400:
        raise ModelError(f"HTTP {response.status_code}")
    buffer = ""
    async for chunk in iterator:
        buffer += chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else str(chunk)
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            text = _sse_text(line)
            if text:
                yield text
    text = _sse_text(buffer)
    if text:
        yield text


def _sse_text(line: str) -> str:
    line = line.strip()
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if not data or data == "[DONE]":
        return ""
    try:
        event = json.loads(data)
    except ValueError:
        return ""
    if isinstance(event, dict) and event.get("error"):
        raise ModelError(_error_text(event["error"]))
    out = []
    for choice in (event.get("choices") or []) if isinstance(event, dict) else []:
        delta = choice.get("delta") or choice.get("message") or {}
        if delta.get("content"):
            out.append(delta["content"])
    return "".join(out)


def _error_text(error: Any) -> str:
    if isinstance(error, bytes):
        error = error.decode("utf-8", "replace")
    if isinstance(error, str):
        try:
            error = json.loads(error)
        except ValueError:
            return str(error[:200])
    if isinstance(error, dict):
        inner = error.get("error", error)
        if isinstance(inner, dict):
            return str(inner.get("message") or inner.get("detail") or inner)[:200]
        return str(error.get("detail") or inner)[:200]
    return str(error)[:200]


def _detail(exc: Exception) -> str:
    return str(getattr(exc, "detail", None) or exc or type(exc).__name__)[:200]
