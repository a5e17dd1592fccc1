"""Glue between Open WebUI (0.12.x) and the engine, shared by the function files in plugin/openwebui/.

The function files an admin imports (Filter, Event, Pipe, Action) hold Valves and one call each
into this package; it turns Open WebUI's payloads into ``Library`` calls and the engine's results
back into Open WebUI's event and source shapes. One module per job:

- ``scopes``: scope names and file sources; ``valves``: valves -> settings;
- ``runtime``: the shared libraries, off-loop execution, status events;
- ``chat``: what a chat request asks; ``access``: Open WebUI's records and access check;
- ``indexing``: Open WebUI files into scopes; ``sources``: results in citation shapes;
- ``filter``, ``pipe``, ``events``, ``action``: one per function kind; ``citations``: the
  "Export citations" Action.

``open_webui`` is imported only inside ``access``, so everything else is testable (and the
Pipelines face usable) without Open WebUI installed. Tests replace Open WebUI by patching the
functions of ``access``.
"""

from scholargraph.faces.openwebui import access
from scholargraph.faces.openwebui.access import base_url, file_name, file_state
from scholargraph.faces.openwebui.action import graph_embed
from scholargraph.faces.openwebui.citations import citations_embed, citations_text
from scholargraph.faces.openwebui.chat import (
    add_system_note,
    chat_items,
    is_pipe_model,
    item_key,
    last_user_text,
    message_text,
    model_applies,
    search_options,
)
from scholargraph.faces.openwebui.events import handle_event
from scholargraph.faces.openwebui.filter import PIPE_ITEMS_KEY, Plan, filter_inlet, pipeline_inlet, plan_chat, reserve_for_pipe
from scholargraph.faces.openwebui.indexing import IndexOutcome, files_in_scope, index_file, sources_of_file, sync_knowledge
from scholargraph.faces.openwebui.pipe import allowed_default_scopes, default_scopes, pipe_answer, pipe_reply
from scholargraph.faces.openwebui.runtime import WRITE_LOCK, Emitter, emit, get_library, notification, run_blocking, status
from scholargraph.faces.openwebui.scopes import (
    PIPE_MODEL_ID,
    SOURCE_TYPE,
    file_scope,
    file_source,
    is_paper_file,
    kb_scope,
    parse_file_source,
)
from scholargraph.faces.openwebui.sources import handoff_items, pack_sources, summary
from scholargraph.faces.openwebui.valves import (
    LibraryValves,
    RetrievalValves,
    knob,
    settings_from_valves,
    settings_overrides,
)

__all__ = [
    "access", "base_url", "file_name", "file_state", "graph_embed", "citations_embed", "citations_text", "add_system_note", "chat_items",
    "is_pipe_model", "item_key", "last_user_text", "message_text", "model_applies", "search_options",
    "handle_event", "PIPE_ITEMS_KEY", "Plan", "filter_inlet", "pipeline_inlet", "plan_chat",
    "reserve_for_pipe", "IndexOutcome", "files_in_scope", "index_file", "sources_of_file",
    "sync_knowledge", "allowed_default_scopes", "default_scopes", "pipe_answer", "pipe_reply",
    "WRITE_LOCK", "Emitter", "emit", "get_library", "notification", "run_blocking", "status",
    "PIPE_MODEL_ID", "SOURCE_TYPE", "file_scope", "file_source", "is_paper_file", "kb_scope",
    "parse_file_source", "handoff_items", "pack_sources", "summary", "LibraryValves",
    "RetrievalValves", "knob", "settings_from_valves", "settings_overrides",
]
