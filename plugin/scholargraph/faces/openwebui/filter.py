"""The Filter (and its Pipelines-server twin): retrieve over the chat's readable scopes and hand
Open WebUI graph-aware sources in place of its own RAG."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scholargraph.faces.openwebui import access
from scholargraph.faces.openwebui.access import base_url, file_name, file_state
from scholargraph.faces.openwebui.chat import (
    add_system_note,
    chat_items,
    is_pipe_model,
    item_key,
    last_user_text,
    model_applies,
    search_options,
)
from scholargraph.faces.openwebui.indexing import (
    files_in_scope,
    index_file,
    index_in_background_if_slow,
    knowledge_state,
    sync_knowledge,
)
from scholargraph.faces.openwebui.runtime import Emitter, emit, get_library, log, run_blocking, status
from scholargraph.faces.openwebui.scopes import file_scope, is_paper_file, kb_scope
from scholargraph.faces.openwebui.sources import handoff_items, pack_sources, plural, summary
from scholargraph.faces.openwebui.valves import settings_from_valves
from scholargraph.language import LANGUAGE_NAMES

if TYPE_CHECKING:
    from scholargraph.library import Library


@dataclass
class Plan:
    """What a chat may search: readable scopes, and the items ScholarGraph took over."""

    scopes: list[str] = field(default_factory=list)
    handled: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


async def plan_chat(library: Library, items: list[dict[str, Any]], user: dict[str, Any], emitter: Emitter = None,
                    index_missing: bool = True) -> Plan:
    """Check access to every attached knowledge base and file; index what is not indexed yet."""
    plan = Plan()
    kb_ids = [str(i["id"]) for i in items if i.get("type") == "collection" and i.get("id")]
    file_items = {str(i["id"]): i for i in items if i.get("type") == "file" and i.get("id")}
    kbs, files = await access.readable(user, kb_ids, file_items)
    for denied in (set(kb_ids) - kbs) | (set(file_items) - files):
        plan.notes.append(f"no access to {denied}")
    for kb_id in kb_ids:
        if kb_id not in kbs:
            continue
        if await access.own_knowledge_base(kb_id) is None:
            continue  # gone, or an external knowledge base: Open WebUI's own
        outcomes = await sync_knowledge(library, kb_id, emitter, index_missing)
        state = await knowledge_state(library, kb_id, outcomes)
        if not state.complete:  # say it where users look: the chat's status line
            plan.notes.append(state.line())
            await emit(emitter, status(f"ScholarGraph: {state.line()}"))
        plan.scopes.append(kb_scope(kb_id))
        plan.handled.add(("collection", kb_id))
    for file_id, item in file_items.items():
        if file_id not in files:
            continue
        name = item.get("name") or (item.get("file") or {}).get("filename") or ""
        record, path = await access.openwebui_file(file_id)
        name = (file_name(record) or name) if record is not None else name
        if not is_paper_file(name):
            continue  # images, spreadsheets...: Open WebUI's own handling
        scope = file_scope(file_id)
        recorded = file_state(record)
        if recorded.get("status") == "failed":
            plan.notes.append(recorded.get("error") or f"{name}: could not be indexed")
            continue
        if not await run_blocking(files_in_scope, library, scope):
            if not index_missing:
                plan.notes.append(f"{name}: not indexed yet")
                continue
            later = await index_in_background_if_slow(library, file_id, scope, record, path, name)
            if later:  # a scan: OCR would hold the chat for minutes
                plan.notes.append(later)
                continue
            await emit(emitter, status(f"ScholarGraph: indexing {name}…"))
            outcome = await index_file(library, file_id, scope, record, path)
            if outcome.status in ("failed", "missing"):
                plan.notes.append(outcome.message)
                continue
        plan.scopes.append(scope)
        plan.handled.add(("file", file_id))
    return plan


def _replace_items(body: dict[str, Any], metadata: dict[str, Any] | None, handled: set[tuple[str, str]],
                   added: list[dict[str, Any]], drop_handled: bool) -> None:
    """Put ScholarGraph's sources first and, if asked, take the handled items from Open WebUI."""
    current = body.get("files")
    if current is None:
        current = (metadata or {}).get("files") or (body.get("metadata") or {}).get("files") or []
    new = added + [i for i in current if not (drop_handled and item_key(i) in handled)]
    body["files"] = new
    for meta in (metadata, body.get("metadata")):
        if isinstance(meta, dict):
            meta["files"] = new  # Open WebUI's RAG step reads body["metadata"]["files"]


async def filter_inlet(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None,
                       metadata: dict[str, Any] | None = None, emitter: Emitter = None,
                       request: Any = None) -> dict[str, Any]:
    """Retrieve with graph expansion over the chat's readable scopes and hand Open WebUI the sources."""
    user = user or {}
    user_valves = user.get("valves")
    if user_valves is not None and not getattr(user_valves, "enabled", True):
        return body
    if is_pipe_model(body.get("model", "")):
        return await reserve_for_pipe(body, metadata, valves.file_handler)
    if not model_applies(body.get("model", ""), valves.all_models, (valves.model_ids or "").split(",")):
        return body
    items = chat_items(body, metadata)
    if not items or not user.get("id"):
        return body
    question = last_user_text(body.get("messages"))
    if not question.strip():
        return body
    try:
        library = get_library(settings_from_valves(valves))
        plan = await plan_chat(library, items, user, emitter, valves.index_on_demand)
        if not plan.scopes:
            if plan.notes:
                await emit(emitter, status("ScholarGraph: " + "; ".join(plan.notes[:3]), done=True))
            return body
        await emit(emitter, status(f"ScholarGraph: searching {plural(len(plan.scopes), 'collection')}…"))
        options = search_options(valves, user_valves)
        pack = await run_blocking(library.context, question, plan.scopes, **options)
    except Exception as exc:
        log.exception("ScholarGraph filter failed")
        await emit(emitter, status(f"ScholarGraph: {exc}", done=True))
        return body
    passages, papers, neighbours = summary(pack)
    await emit(emitter, status(f"{plural(passages, 'passage')} from {plural(papers, 'paper')}"))
    graph = f"graph: {plural(neighbours, 'neighbour')}"
    # the last line stays on screen: what could not be indexed leads it, named as ScholarGraph's
    await emit(emitter, status(f"ScholarGraph: {'; '.join(plan.notes[:2])} · {graph}" if plan.notes else graph,
                               done=True))
    sources = pack_sources(pack, plan.scopes, base_url(request))
    _replace_items(body, metadata, plan.handled, handoff_items(sources), valves.file_handler)
    language = (getattr(user_valves, "answer_language", "") or "").strip() if user_valves is not None else ""
    if language:
        add_system_note(body, f"Answer in {LANGUAGE_NAMES.get(language, language)}.")
    return body


PIPE_ITEMS_KEY = "scholargraph_items"


async def reserve_for_pipe(body: dict[str, Any], metadata: dict[str, Any] | None, take: bool) -> dict[str, Any]:
    """For the assistant Pipe: keep Open WebUI's own RAG off the knowledge bases and paper files
    (the Pipe retrieves them itself), passing them on in the request metadata."""
    if not take or metadata is None:
        return body
    items = chat_items(body, metadata)
    mine: list[dict[str, Any]] = []
    for item in items:
        if item.get("type") == "collection" and item.get("id"):
            if await access.own_knowledge_base(str(item["id"])) is not None:
                mine.append(item)
        elif item.get("type") == "file" and is_paper_file(item.get("name") or (item.get("file") or {}).get("filename") or ""):
            mine.append(item)
    if mine:
        metadata[PIPE_ITEMS_KEY] = mine
        _replace_items(body, metadata, {item_key(i) for i in mine}, [], True)
    return body


async def pipeline_inlet(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None) -> dict[str, Any]:
    """The Filter for the Pipelines server. It runs outside Open WebUI, so it cannot ask Open
    WebUI's access check: it searches only the attached knowledge bases an admin listed in
    ``knowledge_ids`` (``*``: every attached one, for deployments where all users read all)."""
    allowed = {k.strip() for k in (valves.knowledge_ids or "").split(",") if k.strip()}
    if not allowed:
        return body
    attached = [str(i["id"]) for i in chat_items(body) if i.get("type") == "collection" and i.get("id")]
    kb_ids = [k for k in attached if "*" in allowed or k in allowed]
    question = last_user_text(body.get("messages"))
    if not kb_ids or not question.strip():
        return body
    library = get_library(settings_from_valves(valves))
    scopes = [kb_scope(k) for k in kb_ids]
    pack = await run_blocking(library.context, question, scopes, **search_options(valves))
    sources = pack_sources(pack, scopes)
    handled = {("collection", k) for k in kb_ids}
    _replace_items(body, None, handled, handoff_items(sources), valves.file_handler)
    return body
