"""The assistant Pipe: retrieve like the Filter, then stream the chat LLM's answer citing [n].

Without a chat LLM (none set, or it cannot be reached) the Pipe still answers: the sentences
of the papers that answer best, each cited [n], the sources, and which valve to set.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from scholargraph.openwebui_bridge import access
from scholargraph.openwebui_bridge.access import base_url
from scholargraph.llm import configured
from scholargraph.openwebui_bridge.chat import chat_items, earlier_user_texts, last_user_text, search_options, user_language
from scholargraph.openwebui_bridge.filter import PIPE_ITEMS_KEY, Plan, plan_chat
from scholargraph.openwebui_bridge.runtime import Emitter, emit, get_library, iterate_blocking, log, run_blocking, status
from scholargraph.openwebui_bridge.scopes import PIPE_MODEL_ID, kb_scope
from scholargraph.openwebui_bridge.sources import pack_sources, summary
from scholargraph.openwebui_bridge.valves import settings_from_valves
from scholargraph.retrieval.extractive import quote_answer
from scholargraph.retrieval.prompts import resolve_language

NO_LLM = ("Quoted from your papers: no chat LLM is set for ScholarGraph. For written answers an admin sets "
          "the Pipe's llm_url and llm_model valves (Admin Panel → Functions → ScholarGraph Assistant → Valves).")
LLM_FAILED = ("Quoted from your papers: the chat LLM at {url} could not answer ({reason}). An admin checks "
              "the Pipe's llm_url and llm_model valves (Admin Panel → Functions → ScholarGraph Assistant → Valves).")


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
        if pack.sources:
            pack.language = await run_blocking(
                resolve_language, library, question, scopes, earlier=earlier_user_texts(body.get("messages")),
                user_language=user_language(metadata, body))
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
    if not configured(library.settings.llm):
        yield await quoted(library, question, pack, NO_LLM)
        return
    written = False
    try:
        async for piece in iterate_blocking(library.answer_stream(question, pack)):
            written = True
            yield piece
    except Exception as exc:  # one line in the log, not a traceback per question
        log.warning("ScholarGraph Pipe: chat LLM failed, quoting the papers instead: %s", exc)
        note = LLM_FAILED.format(url=library.settings.llm.base_url, reason=_reason(exc))
        yield ("\n\n" if written else "") + await quoted(library, question, pack, note)


async def quoted(library, question: str, pack, note: str) -> str:
    """The extractive answer as chat markdown, ending with ``note``."""
    answer = await run_blocking(quote_answer, library, question, pack)
    return answer.markdown(note)


def _reason(exc: Exception) -> str:
    text = str(exc).split(" (check ", 1)[0]
    return text.rsplit(": ", 1)[-1][:160] or type(exc).__name__


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
    kbs, _ = await access.readable(user, extra, [])
    return [s for s in scopes if s in checked or (s.startswith("kb:") and s[3:] in kbs)]
