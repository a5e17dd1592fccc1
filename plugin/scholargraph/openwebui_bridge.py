"""Glue between Open WebUI (0.12.x) and the engine, shared by the function files in plugin/openwebui/.

The function files an admin imports (Filter, Event, Pipe, Action) hold Valves and one call
each into this module; this module turns Open WebUI's payloads into ``Library`` calls and
the engine's results back into Open WebUI's event and source shapes. It imports
``open_webui`` only inside the functions that need it, so everything else is testable (and
the Pipelines face usable) without Open WebUI installed.

Scopes: a knowledge base is ``kb:{knowledge_id}``; a file attached to a chat is
``file:{file_id}``, so it is visible exactly to those Open WebUI lets read that file (its
owner, admins, and readers of a knowledge base that holds it). Whether a user may read a
knowledge base or a file is decided by Open WebUI's own check
(``open_webui.retrieval.utils.filter_accessible_collections``, the one its built-in RAG
applies to the same items), never by rules of our own.

A paper that came from an Open WebUI file records ``openwebui-file:{file_id}/{name}`` as its
source in that scope, so removing the file from the knowledge base can find the paper even
after Open WebUI has deleted the file itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from scholargraph.retrieval.prompts import LANGUAGE_NAMES
from scholargraph.settings import Settings

log = logging.getLogger("scholargraph.openwebui")

Emitter = Callable[[dict[str, Any]], Awaitable[Any]] | None

# The model id suffix of the assistant Pipe; the Filter leaves that model alone (the Pipe retrieves itself).
PIPE_MODEL_ID = "scholargraph-assistant"
SOURCE_TYPE = "scholargraph"
_FILE_SOURCE = re.compile(r"^openwebui-file:(?P<id>[^/]+)/(?P<name>.*)$")


# -- scopes and sources --------------------------------------------------------------------
def kb_scope(knowledge_id: str) -> str:
    return f"kb:{knowledge_id}"


def file_scope(file_id: str) -> str:
    return f"file:{file_id}"


def file_source(file_id: str, name: str) -> str:
    """The source a paper records when it came from an Open WebUI file."""
    return f"openwebui-file:{file_id}/{name}"


def parse_file_source(source: str | None) -> tuple[str, str] | None:
    """(file_id, name) from ``file_source``'s string, None for other sources (CLI paths...)."""
    match = _FILE_SOURCE.match(source or "")
    return (match["id"], match["name"]) if match else None


def is_paper_file(name: str) -> bool:
    """Files ScholarGraph parses; others are left to Open WebUI."""
    from scholargraph.ingest import SUPPORTED_SUFFIXES

    return Path(name or "").suffix.lower() in SUPPORTED_SUFFIXES


# -- valves -> settings --------------------------------------------------------------------
# Settings whose valve at 0 means "keep the server's environment" (0 is no valid value for them).
_EMPTY_ZERO = {"embedding.dimensions", "store.chroma_port"}


def _field(dotted: str):
    model: Any = Settings
    *parents, leaf = dotted.split(".")
    for part in parents:
        model = model.model_fields[part].annotation
    return model.model_fields[leaf]


def knob(dotted: str, default: Any = ..., note: str = "") -> Any:
    """A Valves field that maps onto one setting: its description comes from the settings model.

    With no ``default`` the valve starts at the setting's built-in default; an explicit empty
    default ("" or 0) means "keep what the server's SCHOLARGRAPH_* environment says".
    """
    info = _field(dotted)
    if default is ...:
        default = info.get_default(call_default_factory=True)
        if isinstance(default, Path):
            default = str(default)
    env = "SCHOLARGRAPH_" + dotted.upper().replace(".", "__")
    text = (info.description or "").rstrip(".")
    if default == "" or (default == 0 and dotted in _EMPTY_ZERO):
        text += f". {'Empty' if default == '' else '0'} keeps the server's {env} (or the built-in default)"
    if note:
        text += f". {note}"
    return Field(default, description=text + ".", json_schema_extra={"setting": dotted})


class LibraryValves(BaseModel):
    """Where the library lives, shared by every ScholarGraph function's Valves.

    Set these alike in every function, or leave them empty and set SCHOLARGRAPH_* in Open
    WebUI's environment (recommended): functions whose settings differ get separate libraries.
    """

    data_dir: str = knob("data_dir", "")
    embedding_backend: str = knob("embedding.backend", "", "'local' or 'vllm'")
    vllm_url: str = knob("embedding.base_url", "")
    embedding_model: str = knob("embedding.model", "")
    embedding_api_key: str = knob("embedding.api_key", "")
    embedding_dimensions: int = knob("embedding.dimensions", 0)
    embedding_instructions: str = knob("embedding.instructions", "", "JSON object")
    chroma_host: str = knob("store.chroma_host", "")
    chroma_port: int = knob("store.chroma_port", 0)
    graph_database_url: str = knob("graph.database_url", "")


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
        value = getattr(valves, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value == 0 and dotted in _EMPTY_ZERO:
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


# -- one library per distinct settings, shared by every function in this process ----------------
_LIBRARIES: OrderedDict[str, Any] = OrderedDict()
_LIBRARIES_LOCK = threading.Lock()
WRITE_LOCK = threading.Lock()  # ingest and delete one at a time per process (embedded stores)


def get_library(settings: Settings):
    """A cached ``Library`` for these settings (the four functions share it when they agree)."""
    from scholargraph.library import Library

    key = settings.model_dump_json()
    with _LIBRARIES_LOCK:
        lib = _LIBRARIES.get(key)
        if lib is None:
            lib = _LIBRARIES[key] = Library(settings)
            while len(_LIBRARIES) > 4:
                _, old = _LIBRARIES.popitem(last=False)
                old.close()
        _LIBRARIES.move_to_end(key)
        return lib


async def run_blocking(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Engine calls are blocking (parsing, embedding, SQL): keep them off Open WebUI's event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def iterate_blocking(gen: Iterator[str]) -> AsyncIterator[str]:
    """An async view of a blocking generator (the chat LLM stream), one piece per thread hop."""
    done = object()
    while True:
        piece = await asyncio.to_thread(next, gen, done)
        if piece is done:
            return
        yield piece


# -- events ------------------------------------------------------------------------------
def status(description: str, done: bool = False, hidden: bool = False) -> dict[str, Any]:
    return {"type": "status", "data": {"description": description, "done": done, "hidden": hidden}}


def notification(content: str, kind: str = "info") -> dict[str, Any]:
    return {"type": "notification", "data": {"type": kind, "content": content}}


async def emit(emitter: Emitter, event: dict[str, Any]) -> None:
    if emitter is not None:
        try:
            await emitter(event)
        except Exception:  # a closed socket must not fail the chat
            log.debug("event emitter failed", exc_info=True)


# -- what a chat asks about ----------------------------------------------------------------
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


def chat_items(body: dict[str, Any], metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The files and knowledge bases attached to a chat request, each once."""
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    for source in (body.get("files"), (metadata or {}).get("files"), (body.get("metadata") or {}).get("files")):
        for item in source or []:
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


# -- Open WebUI access and files (imported lazily) ---------------------------------------------
async def user_model(user: dict[str, Any]):
    """Open WebUI's own record of the user (role and groups as the database has them now)."""
    from open_webui.models.users import Users

    found = await Users.get_user_by_id(user["id"])
    if found is None:
        raise PermissionError(f"unknown Open WebUI user {user.get('id')}")
    return found


async def readable(user: dict[str, Any], knowledge_ids: Iterable[str], file_ids: Iterable[str]) -> tuple[set[str], set[str]]:
    """The knowledge bases and files this user may read, by Open WebUI's own access check."""
    from open_webui.retrieval.utils import filter_accessible_collections

    kbs, files = set(knowledge_ids), set(file_ids)
    if not kbs and not files:
        return set(), set()
    owner = await user_model(user)
    names = kbs | {f"file-{f}" for f in files}
    allowed = await filter_accessible_collections(names, owner, "read")
    return {k for k in kbs if k in allowed}, {f for f in files if f"file-{f}" in allowed}


async def knowledge_base(knowledge_id: str):
    from open_webui.models.knowledge import Knowledges

    return await Knowledges.get_knowledge_by_id(knowledge_id)


async def knowledge_files(knowledge_id: str) -> list[Any]:
    from open_webui.models.knowledge import Knowledges

    return list(await Knowledges.get_files_by_id(knowledge_id) or [])


async def openwebui_file(file_id: str) -> tuple[Any, str | None]:
    """(Open WebUI FileModel or None, a local path to its bytes or None)."""
    from open_webui.models.files import Files

    record = await Files.get_file_by_id(file_id)
    if record is None or not record.path:
        return record, None
    try:
        from open_webui.storage.provider import Storage

        local = await run_blocking(Storage.get_file, record.path)
    except Exception:
        log.warning("cannot fetch file %s from Open WebUI storage", file_id, exc_info=True)
        return record, None
    return record, local if local and Path(local).is_file() else None


def file_name(record: Any) -> str:
    meta = getattr(record, "meta", None) or {}
    return meta.get("name") or getattr(record, "filename", "") or ""


async def mark_file(file_id: str, **state: Any) -> None:
    """Record ScholarGraph's indexing state in the file's metadata (``meta.scholargraph``)."""
    try:
        from open_webui.models.files import Files

        await Files.update_file_metadata_by_id(file_id, {"scholargraph": state})
    except Exception:
        log.debug("cannot record state on file %s", file_id, exc_info=True)


def file_state(record: Any) -> dict[str, Any]:
    return ((getattr(record, "meta", None) or {}).get("scholargraph") or {}) if record is not None else {}


def base_url(request: Any) -> str:
    """Open WebUI's public base URL as the browser reached it (for links in citations)."""
    try:
        return str(request.base_url).rstrip("/")
    except Exception:
        return ""


# -- indexing Open WebUI files --------------------------------------------------------------
def sources_of_file(library, scope: str, file_id: str) -> list[str]:
    """The recorded sources in ``scope`` that are this Open WebUI file."""
    return [s for s in library.graph.sources_in_scope(scope) if (parsed := parse_file_source(s)) and parsed[0] == file_id]


def files_in_scope(library, scope: str) -> dict[str, str]:
    """Open WebUI file id -> paper id for every file recorded in a scope (duplicates included)."""
    out: dict[str, str] = {}
    for source, paper_ids in library.graph.sources_in_scope(scope).items():
        parsed = parse_file_source(source)
        if parsed and paper_ids:
            out[parsed[0]] = paper_ids[0]
    return out


def _ingest_file(library, path: str, file_id: str, name: str, scope: str):
    with WRITE_LOCK:
        return library.ingest([path], scope=scope, sources={str(Path(path).resolve()): file_source(file_id, name)})


def _remove_file(library, scope: str, file_id: str) -> list[str]:
    """Forget one file; its paper stays while another file of the same content remains."""
    with WRITE_LOCK:
        return [pid for source in sources_of_file(library, scope, file_id) for pid in library.remove_source(scope, source)]


def _delete_scope(library, scope: str) -> list[str]:
    with WRITE_LOCK:
        return library.delete_scope(scope)


@dataclass
class IndexOutcome:
    file_id: str
    name: str
    status: str  # added | copied | skipped | failed | missing | unsupported
    message: str = ""
    paper_id: str | None = None


async def index_file(library, file_id: str, scope: str, record: Any = None, path: str | None = None) -> IndexOutcome:
    """Ingest one Open WebUI file into a scope; the outcome is also written to the file's meta."""
    if record is None or path is None:
        record, path = await openwebui_file(file_id)
    name = file_name(record) if record is not None else file_id
    if record is None or path is None:
        return IndexOutcome(file_id, name, "missing", f"{name}: file not found in Open WebUI storage")
    if not is_paper_file(name):
        return IndexOutcome(file_id, name, "unsupported", f"{name}: not a paper file ScholarGraph reads")
    report = await run_blocking(_ingest_file, library, path, file_id, name, scope)
    paper_id = next(iter(report.paper_ids.values()), None)
    if report.failed:
        reason = report.failed[0][1].replace(Path(path).name, name)
        await mark_file(file_id, status="failed", error=reason, scope=scope)
        return IndexOutcome(file_id, name, "failed", reason, paper_id)
    state = "added" if report.added else "copied" if report.copied else "skipped"
    papers = await run_blocking(library.graph.get_paper, paper_id) if paper_id else None
    await mark_file(file_id, status="indexed", paper_id=paper_id, title=(papers or {}).get("title"), error=None)
    return IndexOutcome(file_id, name, state, f"{name}: {(papers or {}).get('title') or 'indexed'}", paper_id)


async def sync_knowledge(library, knowledge_id: str, emitter: Emitter = None, index_missing: bool = True) -> list[IndexOutcome]:
    """Make scope ``kb:{id}`` hold exactly the knowledge base's paper files: index the missing
    ones (unless they failed before), forget papers whose file left the knowledge base."""
    scope = kb_scope(knowledge_id)
    files = await knowledge_files(knowledge_id)
    present = await run_blocking(files_in_scope, library, scope)
    wanted = {f.id for f in files}
    for gone_id in set(present) - wanted:
        await run_blocking(_remove_file, library, scope, gone_id)
    outcomes: list[IndexOutcome] = []
    todo = [f for f in files if f.id not in present and is_paper_file(file_name(f))]
    for n, record in enumerate(todo, 1):
        if file_state(record).get("status") == "failed":
            outcomes.append(IndexOutcome(record.id, file_name(record), "failed", file_state(record).get("error", "")))
            continue
        if not index_missing:
            outcomes.append(IndexOutcome(record.id, file_name(record), "missing", "not indexed yet"))
            continue
        await emit(emitter, status(f"ScholarGraph: indexing {file_name(record)} ({n}/{len(todo)})…"))
        _, path = await openwebui_file(record.id)
        outcomes.append(await index_file(library, record.id, scope, record, path))
    return outcomes


# -- the engine's results in Open WebUI's shapes -----------------------------------------------
def _fence(text: str) -> str:
    """Keep a paper from closing the <source> tag Open WebUI wraps it in."""
    return text.replace("</source", "&lt;/source").replace("<source", "&lt;source")


def _where(section: str, page: int | None) -> str:
    return "; ".join(p for p in (f"section: {section}" if section else "", f"p. {page}" if page else "") if p)


def pack_sources(pack, scopes: list[str], base: str = "") -> list[dict[str, Any]]:
    """One Open WebUI source per paper of a context pack, numbered as the pack numbers them.

    Shape (what Open WebUI's citation UI reads): ``{"source": {"id", "name", "url", ...},
    "document": [passage...], "metadata": [{"source", "name", "page", ...}], "distances": [score...]}``.
    ``metadata.source`` is the same for every passage of a paper, so the UI groups them and
    numbers the papers [1], [2]... in this order. ``page`` is 0-based as in Open WebUI.
    """
    out = []
    for src in pack.sources:
        parsed = parse_file_source(src.source)
        url = ""
        if parsed and base:
            first_page = next((p.page for p in src.passages if p.page), None)
            url = f"{base}/api/v1/files/{parsed[0]}/content" + (f"#page={first_page}" if first_page else "")
        key = f"{SOURCE_TYPE}:{src.paper_id}"
        head = (f"Graph neighbour ({src.relation})" if src.relation else "")
        documents, metadata, distances = [], [], []
        for passage in src.passages:
            where = _where(passage.section, passage.page)
            label = "; ".join(b for b in (head, where) if b)
            documents.append((f"[{label}]\n" if label else "") + _fence(passage.text))
            meta = {
                "source": key,
                "name": src.title,
                "paper_id": src.paper_id,
                "section": passage.section,
                "relation": src.relation,
                "authors": ", ".join(src.authors[:6]),
                "year": src.year,
            }
            if passage.page:
                meta["page"] = passage.page - 1
            metadata.append({k: v for k, v in meta.items() if v not in (None, "")})
            distances.append(round(float(passage.score), 4))
        out.append({
            "source": {
                "type": SOURCE_TYPE, "id": key, "name": src.title, "url": url,
                "paper_id": src.paper_id, "scopes": list(scopes), "n": src.n,
            },
            "document": documents,
            "metadata": metadata,
            "distances": distances,
        })
    return out


def handoff_items(sources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sources as chat items Open WebUI's own RAG step turns into citations as they are.

    Items carrying ``docs`` skip Open WebUI's retrieval (its web-search bypass path in
    ``get_sources_from_items``) and come back as sources: Open WebUI then wraps them in
    its RAG template with ``<source id="n">`` tags, puts them in the HTTP response and the
    saved chat, and renders the citations. ``context: full`` spares a query-generation call.
    """
    items = []
    for src in sources:
        docs = [{"content": d, "metadata": m} for d, m in zip(src["document"], src["metadata"])]
        items.append({**src["source"], "context": "full", "docs": docs})
    return items


def summary(pack) -> tuple[int, int, int]:
    """(passages, papers, graph neighbours) of a context pack."""
    hits = [s for s in pack.sources if not s.relation]
    return sum(len(s.passages) for s in hits), len(hits), len(pack.sources) - len(hits)


# -- the Filter -----------------------------------------------------------------------------
@dataclass
class Plan:
    """What a chat may search: readable scopes, and the items ScholarGraph took over."""

    scopes: list[str] = field(default_factory=list)
    handled: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


async def plan_chat(library, items: list[dict[str, Any]], user: dict[str, Any], emitter: Emitter = None,
                    index_missing: bool = True) -> Plan:
    """Check access to every attached knowledge base and file; index what is not indexed yet."""
    plan = Plan()
    kb_ids = [str(i["id"]) for i in items if i.get("type") == "collection" and i.get("id")]
    file_items = {str(i["id"]): i for i in items if i.get("type") == "file" and i.get("id")}
    kbs, files = await readable(user, kb_ids, file_items)
    for denied in (set(kb_ids) - kbs) | (set(file_items) - files):
        plan.notes.append(f"no access to {denied}")
    for kb_id in kb_ids:
        if kb_id not in kbs:
            continue
        kb = await knowledge_base(kb_id)
        if kb is None or (kb.meta or {}).get("source") == "external":
            continue  # external knowledge bases stay with Open WebUI
        outcomes = await sync_knowledge(library, kb_id, emitter, index_missing)
        plan.notes += [o.message for o in outcomes if o.status in ("failed", "missing")]
        plan.scopes.append(kb_scope(kb_id))
        plan.handled.add(("collection", kb_id))
    for file_id, item in file_items.items():
        if file_id not in files:
            continue
        name = item.get("name") or (item.get("file") or {}).get("filename") or ""
        record, path = await openwebui_file(file_id)
        name = (file_name(record) or name) if record is not None else name
        if not is_paper_file(name):
            continue  # images, spreadsheets...: Open WebUI's own handling
        scope = file_scope(file_id)
        state = file_state(record)
        if state.get("status") == "failed":
            plan.notes.append(state.get("error") or f"{name}: could not be indexed")
            continue
        if not await run_blocking(files_in_scope, library, scope):
            if not index_missing:
                plan.notes.append(f"{name}: not indexed yet")
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
        await emit(emitter, status(f"ScholarGraph: searching {len(plan.scopes)} "
                                   f"{'collection' if len(plan.scopes) == 1 else 'collections'}…"))
        options = search_options(valves, user_valves)
        pack = await run_blocking(library.context, question, plan.scopes, **options)
    except Exception as exc:
        log.exception("ScholarGraph filter failed")
        await emit(emitter, status(f"ScholarGraph: {exc}", done=True))
        return body
    passages, papers, neighbours = summary(pack)
    await emit(emitter, status(f"{passages} passages from {papers} papers"))
    await emit(emitter, status(f"graph: {neighbours} neighbours"
                               + (" — " + "; ".join(plan.notes[:2]) if plan.notes else ""), done=True))
    sources = pack_sources(pack, plan.scopes, base_url(request))
    _replace_items(body, metadata, plan.handled, handoff_items(sources), valves.file_handler)
    language = (getattr(user_valves, "answer_language", "") or "").strip() if user_valves is not None else ""
    if language:
        add_system_note(body, f"Answer in {LANGUAGE_NAMES.get(language, language)}.")
    return body


def add_system_note(body: dict[str, Any], note: str) -> None:
    """Append a line to the system message (creating one first if the chat has none)."""
    messages = body.setdefault("messages", [])
    for message in messages:
        if message.get("role") == "system" and isinstance(message.get("content"), str):
            message["content"] = f"{message['content']}\n{note}" if message["content"] else note
            return
    messages.insert(0, {"role": "system", "content": note})


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
            kb = await knowledge_base(str(item["id"]))
            if kb is not None and (kb.meta or {}).get("source") != "external":
                mine.append(item)
        elif item.get("type") == "file" and is_paper_file(item.get("name") or (item.get("file") or {}).get("filename") or ""):
            mine.append(item)
    if mine:
        metadata[PIPE_ITEMS_KEY] = mine
        _replace_items(body, metadata, {item_key(i) for i in mine}, [], True)
    return body


def search_options(valves: Any, user_valves: Any = None) -> dict[str, Any]:
    """k / hops / hybrid / neighbour budget from the valves; a user's hops win when set (>= 0)."""
    options = {"k": valves.top_k, "hops": valves.hops, "hybrid": valves.hybrid,
               "neighbour_budget": valves.neighbour_budget}
    user_hops = getattr(user_valves, "hops", -1) if user_valves is not None else -1
    if user_hops is not None and user_hops >= 0:
        options["hops"] = user_hops
    return options


# -- the Pipelines-server filter ------------------------------------------------------------------
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


# -- the Event function ------------------------------------------------------------------------
async def handle_event(event: dict[str, Any], name: str | None, valves: Any) -> str | None:
    """Keep knowledge-base scopes in step with Open WebUI's events; returns what was done."""
    name = name or event.get("event", "")
    subject = event.get("subject") or {}
    data = event.get("data") or {}
    library = get_library(settings_from_valves(valves))
    if name in ("knowledge.file.added", "knowledge.file.updated") and data.get("knowledge_id"):
        scope, file_id = kb_scope(data["knowledge_id"]), subject.get("id")
        if name == "knowledge.file.updated":
            await run_blocking(_remove_file, library, scope, file_id)
        outcome = await index_file(library, file_id, scope)
        return f"{outcome.status}: {outcome.message}"
    if name == "retrieval.content.processed" and subject.get("type") == "file" and data.get("collection_name"):
        # Knowledge uploads from the Knowledge page link the file without a knowledge.file.added event.
        kb = await knowledge_base(data["collection_name"])
        if kb is None or (kb.meta or {}).get("source") == "external":
            return None
        outcome = await index_file(library, subject.get("id"), kb_scope(kb.id))
        return f"{outcome.status}: {outcome.message}"
    if name == "knowledge.file.removed" and data.get("knowledge_id"):
        gone = await run_blocking(_remove_file, library, kb_scope(data["knowledge_id"]), subject.get("id"))
        return f"removed {len(gone)} paper(s)"
    if name in ("knowledge.deleted", "knowledge.reset") and subject.get("id"):
        gone = await run_blocking(_delete_scope, library, kb_scope(subject["id"]))
        return f"forgot knowledge base {subject['id']} ({len(gone)} paper(s) deleted everywhere)"
    if name == "file.deleted" and subject.get("id"):
        await run_blocking(_delete_scope, library, file_scope(subject["id"]))
        return f"forgot file {subject['id']}"
    return None


# -- the Pipe ----------------------------------------------------------------------------------
async def pipe_answer(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None,
                      metadata: dict[str, Any] | None, files: list[dict[str, Any]] | None,
                      emitter: Emitter = None, request: Any = None) -> AsyncIterator[Any]:
    """Retrieve like the Filter, then stream the chat LLM's answer citing [n]; sources as events
    (in a chat) or as a first ``{"sources": [...]}`` chunk (API callers, as Open WebUI's own RAG)."""
    user = user or {}
    metadata = metadata or {}
    question = metadata.get("base_user_prompt") or last_user_text(body.get("messages"))
    items = chat_items({"files": list(files or []) + list(metadata.get(PIPE_ITEMS_KEY) or [])})
    in_chat = bool(metadata.get("chat_id") and metadata.get("message_id"))
    emitter = emitter if in_chat else None  # API callers get sources in the stream instead
    try:
        library = get_library(settings_from_valves(valves))
        plan = await plan_chat(library, items, user, emitter, True) if items else Plan()
        scopes = plan.scopes or default_scopes(valves)
        if not scopes:
            yield ("Attach a knowledge base or a paper to the chat (or set the Pipe's "
                   "knowledge_ids valve) and ask again.")
            return
        scopes = await allowed_default_scopes(scopes, plan.scopes, user)
        await emit(emitter, status("ScholarGraph: searching…"))
        pack = await run_blocking(library.context, question, scopes, **search_options(valves, user.get("valves")))
    except Exception as exc:
        log.exception("ScholarGraph pipe failed")
        yield f"ScholarGraph could not search the library: {exc}"
        return
    passages, papers, neighbours = summary(pack)
    await emit(emitter, status(f"{passages} passages from {papers} papers, graph: {neighbours} neighbours", done=True))
    if not pack.sources:
        yield "No passage in the attached papers matches this question."
        return
    sources = pack_sources(pack, scopes, base_url(request))
    if emitter is not None:
        for src in sources:
            await emit(emitter, {"type": "source", "data": src})
    else:
        yield {"sources": sources}
    try:
        async for piece in iterate_blocking(library.answer_stream(question, pack)):
            yield piece
    except Exception as exc:
        log.exception("ScholarGraph answer failed")
        yield f"\n\nScholarGraph could not reach the chat LLM: {exc}"


async def pipe_reply(body: dict[str, Any], **options: Any) -> Any:
    """What the Pipe returns: the answer stream, or (``stream: false``) one chat.completion
    dict carrying ``sources`` the way Open WebUI's own non-streaming RAG replies do."""
    stream = pipe_answer(body, **options)
    if body.get("stream", False):
        return stream
    text: list[str] = []
    sources: list[dict[str, Any]] = []
    async for piece in stream:
        if isinstance(piece, dict):
            sources = piece.get("sources", sources)
        else:
            text.append(str(piece))
    reply: dict[str, Any] = {
        "id": f"scholargraph-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", PIPE_MODEL_ID),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(text)}, "finish_reason": "stop"}],
    }
    if sources:
        reply["sources"] = sources
    return reply


def default_scopes(valves: Any) -> list[str]:
    ids = [k.strip() for k in (getattr(valves, "knowledge_ids", "") or "").split(",") if k.strip()]
    return [kb_scope(k) for k in ids]


async def allowed_default_scopes(scopes: list[str], checked: list[str], user: dict[str, Any]) -> list[str]:
    """Scopes from a valve still pass Open WebUI's access check for this user."""
    extra = [s[3:] for s in scopes if s not in checked and s.startswith("kb:")]
    if not extra:
        return scopes
    kbs, _ = await readable(user, extra, [])
    return [s for s in scopes if s in checked or (s.startswith("kb:") and s[3:] in kbs)]


# -- the Action --------------------------------------------------------------------------------
async def graph_embed(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None, request: Any = None) -> str:
    """HTML of the graph around the papers a message cites, limited to scopes the user may read."""
    from scholargraph.graph_view import neighbourhood, render_graph_html

    user = user or {}
    messages = body.get("messages") or []
    message = next((m for m in messages if m.get("id") == body.get("id")), messages[-1] if messages else {})
    paper_ids, scopes = [], set()
    for src in message.get("sources") or []:
        head = src.get("source") or {}
        if head.get("type") == SOURCE_TYPE and head.get("paper_id"):
            paper_ids.append(head["paper_id"])
            scopes.update(head.get("scopes") or [])
    if not paper_ids:
        return render_graph_html({"nodes": [], "edges": []}, title="No ScholarGraph sources in this message")
    kbs, files = await readable(user, [s[3:] for s in scopes if s.startswith("kb:")],
                                [s[5:] for s in scopes if s.startswith("file:")])
    allowed = [kb_scope(k) for k in kbs] + [file_scope(f) for f in files]
    library = get_library(settings_from_valves(valves))
    graph = await run_blocking(library.graph_json, allowed)
    around = neighbourhood(graph, paper_ids, hops=max(1, int(getattr(valves, "graph_hops", 1))))
    base = base_url(request)

    def url(node: dict[str, Any]) -> str | None:
        parsed = parse_file_source(node.get("source"))
        return f"{base}/api/v1/files/{parsed[0]}/content" if parsed and base else None

    return render_graph_html(around, title="Papers around this answer", paper_url=url, highlight=paper_ids,
                             height=int(getattr(valves, "height", 480)))
