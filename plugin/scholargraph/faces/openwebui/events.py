"""The Event function: keep knowledge-base scopes in step with Open WebUI's events."""

from __future__ import annotations

from typing import Any

from scholargraph.faces.openwebui import access
from scholargraph.faces.openwebui.indexing import delete_scope, index_file, remove_file
from scholargraph.faces.openwebui.runtime import get_library, run_blocking
from scholargraph.faces.openwebui.scopes import file_scope, kb_scope
from scholargraph.faces.openwebui.sources import plural
from scholargraph.faces.openwebui.valves import settings_from_valves


async def handle_event(event: dict[str, Any], name: str | None, valves: Any) -> str | None:
    """Keep knowledge-base scopes in step with Open WebUI's events; returns what was done."""
    name = name or event.get("event", "")
    subject = event.get("subject") or {}
    data = event.get("data") or {}
    library = get_library(settings_from_valves(valves))
    if name in ("knowledge.file.added", "knowledge.file.updated") and data.get("knowledge_id"):
        scope, file_id = kb_scope(data["knowledge_id"]), str(subject.get("id") or "")
        if not file_id:
            return None
        if name == "knowledge.file.updated":
            await run_blocking(remove_file, library, scope, file_id)
        outcome = await index_file(library, file_id, scope)
        return f"{outcome.status}: {outcome.message}"
    if name == "retrieval.content.processed" and subject.get("type") == "file" and data.get("collection_name"):
        # Knowledge uploads from the Knowledge page link the file without a knowledge.file.added event.
        kb = await access.own_knowledge_base(data["collection_name"])
        if kb is None or not subject.get("id"):
            return None
        outcome = await index_file(library, str(subject["id"]), kb_scope(kb.id))
        return f"{outcome.status}: {outcome.message}"
    if name == "knowledge.file.removed" and data.get("knowledge_id") and subject.get("id"):
        gone = await run_blocking(remove_file, library, kb_scope(data["knowledge_id"]), str(subject["id"]))
        return f"removed {plural(len(gone), 'paper')}"
    if name in ("knowledge.deleted", "knowledge.reset") and subject.get("id"):
        gone = await run_blocking(delete_scope, library, kb_scope(subject["id"]))
        return f"forgot knowledge base {subject['id']} ({plural(len(gone), 'paper')} deleted everywhere)"
    if name == "file.deleted" and subject.get("id"):
        await run_blocking(delete_scope, library, file_scope(subject["id"]))
        return f"forgot file {subject['id']}"
    return None
