"""Valves -> settings: every valve is declared with ``knob``, which ties it to one setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from scholargraph.setting_keys import field_info
from scholargraph.settings import INHERIT, Settings, form_value


def knob(dotted: str, default: Any = ..., note: str = "", secret: bool = False) -> Any:
    """A Valves field that maps onto one setting: its description comes from the settings model.

    With no ``default`` the valve starts at the setting's built-in default; an explicit empty
    default ("" or 0) means "keep what the server's SCHOLARGRAPH_* environment says". A
    ``secret`` (an API key) is drawn by Open WebUI as a password field.
    """
    info = field_info(Settings, dotted)  # a knob for no setting fails at import, naming the closest
    if default is ...:
        default = info.get_default(call_default_factory=True)
        if isinstance(default, Path):
            default = str(default)
    env = "SCHOLARGRAPH_" + dotted.upper().replace(".", "__")
    text = (info.description or "").rstrip(".")
    inherits = default is not None and form_value(dotted, default) is INHERIT  # "" or an impossible 0: no None
    if inherits and default == 0:  # say what 0 means, once
        text = text.split("; None ", 1)[0]
    if inherits:
        text += f". {'Empty' if default == '' else '0'} keeps the server's {env} (or the built-in default)"
    if note:
        text += f". {note}"
    extra: dict[str, Any] = {"setting": dotted}
    if secret:
        extra["input"] = {"type": "password"}
    return Field(default, description=text + ".", json_schema_extra=extra)


class LibraryValves(BaseModel):
    """Where the library lives, shared by every ScholarGraph function's Valves.

    Set these alike in every function, or leave them empty and set SCHOLARGRAPH_* in Open
    WebUI's environment (recommended): functions whose settings differ get separate libraries.
    """

    data_dir: str = knob("data_dir", "")
    embedding_backend: str = knob("embedding.backend", "", "'local' or 'vllm'")
    vllm_url: str = knob("embedding.base_url", "")
    embedding_model: str = knob("embedding.model", "")
    embedding_api_key: str = knob("embedding.api_key", "", secret=True)
    embedding_dimensions: int = knob("embedding.dimensions", 0)
    embedding_instructions: str = knob("embedding.instructions", "", "JSON object")
    chroma_host: str = knob("store.chroma_host", "")
    chroma_port: int = knob("store.chroma_port", 0)
    graph_database_url: str = knob("graph.database_url", "")


def _model_select() -> dict[str, Any]:
    return {"input": {"type": "select", "options": "base_model_options"}}


class AssistantModelValves(BaseModel):
    """The Assistant's first valve: which of Open WebUI's models writes its answers. A mixin
    placed after ``RetrievalValves`` in the bases, so Open WebUI draws it at the top."""

    base_model: str = Field(
        "", description="The Open WebUI model that writes the Assistant's answers (any model of its connections "
        "or Workspace), called with the user's own access; empty = ScholarGraph's llm_url/llm_model if set, "
        "else answers quoted from the papers.", json_schema_extra=_model_select())

    @classmethod
    def base_model_options(cls, __user__: Any = None) -> list[dict[str, str]]:
        from scholargraph.faces.openwebui.connections import model_options

        return model_options()


class AssistantUserValves(BaseModel):
    """A user's own choice of the model that writes their answers."""

    base_model: str = Field(
        "", description="The model that writes my answers; empty = the admin's choice.",
        json_schema_extra=_model_select())

    @classmethod
    def base_model_options(cls, __user__: Any = None) -> list[dict[str, str]]:
        from scholargraph.faces.openwebui.connections import model_options

        return model_options()


class RetrievalValves(LibraryValves):
    """The library plus the retrieval knobs an admin tunes per function."""

    top_k: int = knob("retrieval.top_k")
    hops: int = knob("retrieval.hops")
    neighbour_budget: int = knob("retrieval.neighbour_budget")
    hybrid: bool = knob("retrieval.hybrid")
    fusion: str = knob("retrieval.fusion")
    hybrid_alpha: float = knob("retrieval.hybrid_alpha")
    score_threshold: float = knob("retrieval.score_threshold")
    edge_weights: str = knob("retrieval.edge_weights", "", "JSON object, e.g. {\"cites\": 1.0, \"similar\": 0.7}")
    context_tokens: int = knob("retrieval.context_tokens")
    library_questions: str = knob("retrieval.library_questions")


def settings_overrides(valves: Any) -> dict[str, Any]:
    """Dotted setting -> value for every valve declared with ``knob`` that is not left empty."""
    if valves is None:
        return {}
    fields = type(valves).model_fields
    out: dict[str, Any] = {}
    for name, info in fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        dotted = extra.get("setting")
        if not dotted:
            continue
        value = form_value(dotted, getattr(valves, name))
        if value is INHERIT:
            continue
        if dotted in _JSON_SETTINGS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                from scholargraph.errors import ConfigError

                raise ConfigError(f"valve {name!r} must be JSON, e.g. {{\"retrieve\": \"...\"}}: {exc}") from exc
        out[dotted] = value.strip() if isinstance(value, str) else value
    return out


_JSON_SETTINGS = {"embedding.instructions", "retrieval.edge_weights"}


def settings_from_valves(valves: Any, base: Settings | None = None) -> Settings:
    """The server's settings (SCHOLARGRAPH_* environment) with the valves laid over them."""
    return (base or Settings()).with_overrides(settings_overrides(valves))
