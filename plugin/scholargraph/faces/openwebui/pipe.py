"""The assistant Pipe: retrieve like the Filter, then stream a model's answer citing [n].

The answer is written by one of Open WebUI's own models (the ``base_model`` valve, or the
user's own), called through Open WebUI's chat completion path with the user's request, so its
access control, connection keys and streaming apply; ScholarGraph's own ``llm.*`` settings are
the fallback when no base model is chosen. Without any model (or when it fails) the Pipe still
answers: the sentences of the papers that answer best, each cited [n], the sources, and which
valve to set.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from scholargraph.faces.openwebui import access, connections
from scholargraph.faces.openwebui.access import base_url
from scholargraph.faces.openwebui.chat import (
    chat_items, earlier_user_texts, is_pipe_model, last_user_text, search_options, user_language,
)
from scholargraph.faces.openwebui.filter import PIPE_ITEMS_KEY, Plan, plan_chat
from scholargraph.faces.openwebui.indexing import knowledge_summaries
from scholargraph.faces.openwebui.runtime import Emitter, emit, get_library, iterate_blocking, log, run_blocking, status
from scholargraph.faces.openwebui.scopes import PIPE_MODEL_ID, file_ids, kb_ids, kb_scope
from scholargraph.faces.openwebui.sources import pack_sources, plural, summary_line
from scholargraph.faces.openwebui.valves import settings_from_valves

if TYPE_CHECKING:
    from scholargraph.library import Library
    from scholargraph.retrieval.context import ContextPack

VALVES = "Admin Panel → Functions → ScholarGraph Assistant → Valves"
NO_LLM = ("Quoted from your papers: no model is chosen to write ScholarGraph's answers. For written answers "
          f"an admin picks one of Open WebUI's models in the Pipe's base_model valve ({VALVES}; each user may "
          "pick their own under Settings → Valves), or sets llm_url and llm_model for a chat LLM of its own.")
LLM_FAILED = ("Quoted from your papers: the chat LLM at {url} could not answer ({reason}). An admin checks "
              f"the Pipe's llm_url and llm_model valves ({VALVES}).")
MODEL_FAILED = ("Quoted from your papers: Open WebUI's model {model} could not answer ({reason}). Pick another "
                f"in the Pipe's base_model valve ({VALVES}) or in your own valves (Settings → Valves).")
NOTHING_READABLE = "No readable paper is attached: {why}. Attach a knowledge base or paper you can open and ask again."
HELP = ("**ScholarGraph Assistant**: ask a question about the papers attached to the chat (type # to attach a "
        "knowledge base or a paper) and the answer cites them [n].\n\n"
        "- `/show <paper id or title words>`: one paper's details: metadata with DOI/arXiv links, abstract, "
        "sections, what it cites inside and outside the library, what cites it, similar papers\n"
        "- `/status`: how much of each attached knowledge base ScholarGraph has indexed, and why a file failed\n"
        "- `/help`: this list")
NOTHING_ATTACHED = ("Attach a knowledge base or a paper to the chat (type # in the message box), or ask an admin "
                    "to set the Pipe's knowledge_ids valve, and ask again.")


async def pipe_answer(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None,
                      metadata: dict[str, Any] | None, files: list[dict[str, Any]] | None,
                      emitter: Emitter = None, request: Any = None) -> AsyncIterator[Any]:
    """Retrieve like the Filter, then stream the chat LLM's answer citing [n]; sources as events
    (in a chat) or as a first ``{"sources": [...]}`` chunk (API callers, as Open WebUI's own RAG)."""
    user = user or {}
    metadata = metadata or {}
    question = metadata.get("base_user_prompt") or last_user_text(body.get("messages"))
    command, argument = slash_command(question)
    if command == "/help" or (command == "/show" and not argument):
        yield HELP
        return
    items = chat_items({"files": list(files or []) + list(metadata.get(PIPE_ITEMS_KEY) or [])})
    in_chat = bool(metadata.get("chat_id") and metadata.get("message_id"))
    emitter = emitter if in_chat else None  # API callers get sources in the stream instead
    try:
        library = get_library(settings_from_valves(valves))
        # /status reports the state as it is: it indexes nothing (a scan's OCR would hold it for minutes)
        plan = await plan_chat(library, items, user, emitter, command != "/status") if items else Plan()
        scopes = plan.scopes or default_scopes(valves)
        if not scopes:
            if items:  # something was attached, but nothing of it can be read or indexed
                why = "; ".join(plan.notes[:3]) or "the attachments hold no paper ScholarGraph reads"
                await emit(emitter, status(f"ScholarGraph: {why}", done=True))
                yield NOTHING_READABLE.format(why=why)
            else:
                yield NOTHING_ATTACHED
            return
        scopes = await allowed_default_scopes(scopes, plan.scopes, user)
        if not scopes:
            yield NOTHING_READABLE.format(why="you have no access to the knowledge bases this assistant searches")
            return
        if command == "/show":  # the same scopes, so the same access checks, as a question's search
            yield await run_blocking(library.show_markdown, argument, scopes)
            return
        if command == "/status":
            yield await status_report(library, scopes)
            return
        await emit(emitter, status("ScholarGraph: searching…"))
        pack = await run_blocking(library.context, question, scopes, **search_options(valves, user.get("valves")))
        if pack.cited:
            pack.language = await run_blocking(
                library.question_language, question, scopes, earlier=earlier_user_texts(body.get("messages")),
                user_language=user_language(metadata, body))
    except Exception as exc:
        log.exception("ScholarGraph pipe failed")
        yield f"ScholarGraph could not search the library: {exc}"
        return
    await emit(emitter, status(summary_line(pack), done=True))
    if not pack.cited:
        if not await run_blocking(library.papers, scopes):
            why = "; ".join(plan.notes[:2]) or "the attached knowledge bases hold no indexed paper yet"
            yield NOTHING_READABLE.format(why=why)
        else:
            yield "No passage in the attached papers matches this question."
        return
    sources = pack_sources(pack, scopes, base_url(request))
    if emitter is not None:
        for src in sources:
            await emit(emitter, {"type": "source", "data": src})
    else:
        yield {"sources": sources}
    model_id = base_model(valves, user.get("valves"))
    if model_id:
        async for piece in answer_with_model(library, request, user, model_id, question, pack):
            yield piece
        return
    if not library.writes_answers():
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


def slash_command(text: str | None) -> tuple[str, str]:
    """(``/show``, its argument) for a chat command this Pipe answers itself; ("", text) otherwise."""
    head, *rest = (text or "").strip().split(maxsplit=1) or [""]
    head = head.casefold()
    return (head, rest[0].strip() if rest else "") if head in ("/show", "/status", "/help") else ("", text or "")


async def status_report(library: Library, scopes: list[str]) -> str:
    """/status: one line per readable knowledge base of the chat ('Reading group: 3 of 4 papers
    indexed, 1 failed: scan.pdf — reason'), what Open WebUI's own Knowledge page cannot show."""
    lines = await knowledge_summaries(library, kb_ids(scopes))
    files = len(file_ids(scopes))
    if files:
        lines.append(f"{plural(files, 'attached paper')}: indexed")
    if not lines:
        return "No knowledge base is attached to this chat: type # to attach one, then /status again."
    return "**ScholarGraph indexing**\n\n" + "\n".join(f"- {line}" for line in lines)


def base_model(valves: Any, user_valves: Any = None) -> str:
    """The Open WebUI model that writes answers: the user's own choice, else the admin's."""
    mine = (getattr(user_valves, "base_model", "") or "").strip() if user_valves is not None else ""
    chosen = mine or (getattr(valves, "base_model", "") or "").strip()
    return "" if is_pipe_model(chosen) else chosen  # the Assistant cannot write its own answers


async def answer_with_model(library: Library, request: Any, user: dict[str, Any], model_id: str, question: str,
                            pack: ContextPack) -> AsyncIterator[str]:
    """Stream Open WebUI model ``model_id``'s answer over the pack; quote the papers if it fails."""
    messages = library.answer_messages(question, pack)
    written = False
    try:
        async for piece in connections.chat_stream(request, user, model_id, messages):
            written = True
            yield piece
    except Exception as exc:  # one line in the log, not a traceback per question
        log.warning("ScholarGraph Pipe: Open WebUI model %s failed, quoting the papers instead: %s", model_id, exc)
        note = MODEL_FAILED.format(model=model_id, reason=_reason(exc))
        yield ("\n\n" if written else "") + await quoted(library, question, pack, note)
        return
    if not written:
        yield await quoted(library, question, pack, MODEL_FAILED.format(model=model_id, reason="an empty answer"))


async def quoted(library: Library, question: str, pack: ContextPack, note: str) -> str:
    """The extractive answer as chat markdown, ending with ``note``."""
    answer = await run_blocking(library.quote, question, pack)
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
    extra = kb_ids(s for s in scopes if s not in checked)
    if not extra:
        return scopes
    kbs, _ = await access.readable(user, extra, [])
    readable = {kb_scope(k) for k in kbs}
    return [s for s in scopes if s in checked or s in readable]
