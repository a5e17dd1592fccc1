"""What a chat request asks about: its question, its attached items, its model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scholargraph.faces.openwebui.scopes import PIPE_MODEL_ID


def message_text(message: dict[str, Any] | None) -> str:
    if not message:
        return ""
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content or ""


def last_user_text(messages: list[dict[str, Any]] | None) -> str:
    for message in reversed(messages or []):
        if message.get("role") == "user":
            return message_text(message)
    return ""


def earlier_user_texts(messages: list[dict[str, Any]] | None, last: int = 3) -> list[str]:
    """The user's turns before the current question (the newest ``last``): they tell the
    language a one-word question is asked in."""
    users = [message_text(m) for m in (messages or []) if m.get("role") == "user"]
    return users[:-1][-last:]


def user_language(metadata: dict[str, Any] | None, body: dict[str, Any] | None = None) -> str:
    """The language of the user's Open WebUI interface ('en-US'), from the prompt variables
    Open WebUI sends with each chat; '' when absent."""
    for place in ((metadata or {}).get("variables"), ((body or {}).get("metadata") or {}).get("variables"),
                   (body or {}).get("variables")):
        if isinstance(place, dict) and place.get("{{USER_LANGUAGE}}"):
            return str(place["{{USER_LANGUAGE}}"])
    return ""


def chat_items(body: dict[str, Any], metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The files and knowledge bases attached to a chat request, each once."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for place in (body.get("files"), (metadata or {}).get("files"), (body.get("metadata") or {}).get("files")):
        for item in place or []:
            if not isinstance(item, dict):
                continue
            key = (str(item.get("type")), str(item.get("id")))
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def item_key(item: dict[str, Any]) -> tuple[str, str]:
    return str(item.get("type")), str(item.get("id"))


def is_pipe_model(model_id: str) -> bool:
    return (model_id or "").split(".")[-1] == PIPE_MODEL_ID


def model_applies(model_id: str, all_models: bool, model_ids: Iterable[str]) -> bool:
    """Whether a Filter with these valves acts on a chat with this model (never on the assistant Pipe)."""
    if is_pipe_model(model_id):
        return False
    return all_models or model_id in {m.strip() for m in model_ids if m and m.strip()}


def add_system_note(body: dict[str, Any], note: str) -> None:
    """Append a line to the system message (creating one first if the chat has none)."""
    messages = body.setdefault("messages", [])
    for message in messages:
        if message.get("role") == "system" and isinstance(message.get("content"), str):
            message["content"] = f"{message['content']}\n{note}" if message["content"] else note
            return
    messages.insert(0, {"role": "system", "content": note})


def search_options(valves: Any, user_valves: Any = None) -> dict[str, Any]:
    """k / hops / hybrid / neighbour budget from the valves; a user's own hops (>= 0), keyword
    search ('on' / 'off') and library questions ('auto' / 'off' / 'always') win over the admin's."""
    options = {"k": valves.top_k, "hops": valves.hops, "hybrid": valves.hybrid,
               "neighbour_budget": valves.neighbour_budget}
    user_hops = getattr(user_valves, "hops", -1) if user_valves is not None else -1
    if user_hops is not None and user_hops >= 0:
        options["hops"] = user_hops
    keyword = getattr(user_valves, "keyword_search", "admin") if user_valves is not None else "admin"
    if keyword in ("on", "off"):
        options["hybrid"] = keyword == "on"
    mine = getattr(user_valves, "library_questions", "admin") if user_valves is not None else "admin"
    if mine in ("auto", "off", "always"):  # whole-library questions answered from the graph (library_overview)
        options["library_questions"] = mine
    return options
