"""Glue between Open WebUI (0.12.x) and the engine, shared by the function files in plugin/openwebui/.

The function files an admin imports (Filter, Event, Pipe, Action) hold Valves and one call each
into this package; it turns Open WebUI's payloads into ``Library`` calls and the engine's results
back into Open WebUI's event and source shapes. One module per job:

- ``scopes``: scope names and file origins; ``valves``: valves -> settings;
- ``runtime``: the shared libraries, off-loop execution, status events;
- ``chat``: what a chat request asks; ``access``: Open WebUI's records and access check;
- ``indexing``: Open WebUI files into scopes; ``sources``: results in citation shapes;
- ``filter``, ``pipe``, ``events``, ``action``: one per function kind; ``citations``: the
  "Export citations" Action.

``open_webui`` is imported only inside ``access``, so everything else is testable (and the
Pipelines face usable) without Open WebUI installed. Tests replace Open WebUI by patching the
functions of ``access``.

The names below load their module on first use (PEP 562), so a face that needs one module
(the HTTP service's document loader) does not import the Pipe, the Filter and retrieval with it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

# name -> the module of this package that defines it
_HOMES: dict[str, str] = {
    "base_url": "access",
    "file_name": "access",
    "file_state": "access",
    "graph_embed": "action",
    "citations_embed": "citations",
    "citations_text": "citations",
    "add_system_note": "chat",
    "chat_items": "chat",
    "is_pipe_model": "chat",
    "item_key": "chat",
    "last_user_text": "chat",
    "message_text": "chat",
    "model_applies": "chat",
    "search_options": "chat",
    "handle_event": "events",
    "PIPE_ITEMS_KEY": "filter",
    "Plan": "filter",
    "filter_inlet": "filter",
    "pipeline_inlet": "filter",
    "plan_chat": "filter",
    "reserve_for_pipe": "filter",
    "IndexOutcome": "indexing",
    "files_in_scope": "indexing",
    "index_file": "indexing",
    "origins_of_file": "indexing",
    "sync_knowledge": "indexing",
    "allowed_default_scopes": "pipe",
    "default_scopes": "pipe",
    "pipe_answer": "pipe",
    "pipe_reply": "pipe",
    "WRITE_LOCK": "runtime",
    "Emitter": "runtime",
    "emit": "runtime",
    "get_library": "runtime",
    "notification": "runtime",
    "run_blocking": "runtime",
    "status": "runtime",
    "PIPE_MODEL_ID": "scopes",
    "SOURCE_TYPE": "scopes",
    "file_scope": "scopes",
    "file_origin": "scopes",
    "is_paper_file": "scopes",
    "kb_scope": "scopes",
    "parse_file_origin": "scopes",
    "handoff_items": "sources",
    "pack_sources": "sources",
    "summary": "sources",
    "LibraryValves": "valves",
    "RetrievalValves": "valves",
    "knob": "valves",
    "settings_from_valves": "valves",
    "settings_overrides": "valves",
    "access": "access",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # a module of this package by its own name (``sg.indexing``)
        if name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        home = name
    module = importlib.import_module(f"{__name__}.{home}")
    value = module if name == home else getattr(module, name)
    globals()[name] = value
    return value
