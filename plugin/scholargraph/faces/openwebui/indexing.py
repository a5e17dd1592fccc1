"""Open WebUI files into scopes: index on upload or on demand, forget on removal."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scholargraph.faces.openwebui import access
from scholargraph.faces.openwebui.access import file_name, file_state
from scholargraph.faces.openwebui.runtime import WRITE_LOCK, Emitter, emit, log, run_blocking, status
from scholargraph.faces.openwebui.scopes import file_origin, is_paper_file, kb_scope, parse_file_origin
from scholargraph.models import IngestReport

if TYPE_CHECKING:
    from scholargraph.library import Library


def origins_of_file(library: Library, scope: str, file_id: str) -> list[str]:
    """The recorded origins in ``scope`` that are this Open WebUI file."""
    return [s for s in library.origins_in_scope(scope) if (parsed := parse_file_origin(s)) and parsed[0] == file_id]


def files_in_scope(library: Library, scope: str) -> dict[str, str]:
    """Open WebUI file id -> paper id for every file recorded in a scope (duplicates included)."""
    out: dict[str, str] = {}
    for origin, paper_ids in library.origins_in_scope(scope).items():
        parsed = parse_file_origin(origin)
        if parsed and paper_ids:
            out[parsed[0]] = paper_ids[0]
    return out


def _recorded(library: Library, scope: str, file_id: str) -> tuple[str, str | None] | None:
    """(name, paper id) when this Open WebUI file is already recorded in the scope, else None."""
    for origin, paper_ids in library.origins_in_scope(scope).items():
        known = parse_file_origin(origin)
        if known and known[0] == file_id:
            return known[1], paper_ids[0] if paper_ids else None
    return None


_FILE_LOCKS: dict[str, threading.Lock] = {}  # Open WebUI file id -> its indexing, one at a time
_FILE_LOCKS_GUARD = threading.Lock()


def _file_lock(file_id: str) -> threading.Lock:
    with _FILE_LOCKS_GUARD:
        return _FILE_LOCKS.setdefault(file_id, threading.Lock())


def _ingest_file(library: Library, path: str, file_id: str, name: str, scope: str) -> IngestReport | None:
    """The ingest report, or None when the file got recorded meanwhile: Open WebUI dispatches both
    events of one upload at once, so the second waits for the first (per file) and finds it done.
    The file is parsed before the write lock is taken, so a scan's OCR does not hold up every
    other upload of this Open WebUI."""
    with _file_lock(file_id):
        if _recorded(library, scope, file_id):
            return None
        unreadable = library.parse_ahead(path)
        with WRITE_LOCK:  # no second look: this file's other event waits for the lock above
            if unreadable is not None:  # what the ingest would report, without parsing twice
                return IngestReport(failed=[(path, unreadable)])
            return library.ingest([path], scope=scope,
                                  origins={str(Path(path).resolve()): file_origin(file_id, name)})


def remove_file(library: Library, scope: str, file_id: str) -> list[str]:
    """Forget one file; its paper stays while another file of the same content remains."""
    with WRITE_LOCK:
        return [pid for origin in origins_of_file(library, scope, file_id) for pid in library.remove_origin(scope, origin)]


def delete_scope(library: Library, scope: str) -> list[str]:
    """Forget a scope; papers no other scope holds are deleted."""
    with WRITE_LOCK:
        return library.delete_scope(scope)


@dataclass
class IndexOutcome:
    file_id: str
    name: str
    status: str  # added | copied | skipped | failed | missing | unsupported
    message: str = ""
    paper_id: str | None = None


async def index_file(library: Library, file_id: str, scope: str, record: Any = None,
                     path: str | None = None) -> IndexOutcome:
    """Ingest one Open WebUI file into a scope; the outcome is also written to the file's meta.

    A file already recorded in the scope is not read again: Open WebUI sends each knowledge
    upload twice (``retrieval.content.processed``, then ``knowledge.file.added``)."""
    known = await run_blocking(_recorded, library, scope, file_id)
    if known:
        return IndexOutcome(file_id, known[0], "skipped", f"{known[0]}: already indexed", known[1])
    if record is None or path is None:
        record, path = await access.openwebui_file(file_id)
    name = file_name(record) if record is not None else file_id
    if record is None or path is None:
        return IndexOutcome(file_id, name, "missing", f"{name}: file not found in Open WebUI storage")
    if not is_paper_file(name):
        return IndexOutcome(file_id, name, "unsupported", f"{name}: not a paper file ScholarGraph reads")
    report = await run_blocking(_ingest_file, library, path, file_id, name, scope)
    if report is None:
        return IndexOutcome(file_id, name, "skipped", f"{name}: already indexed")
    paper_id = next(iter(report.paper_ids.values()), None)
    if report.failed:
        reason = report.failed[0][1].replace(Path(path).name, name)
        await access.mark_file(file_id, status="failed", error=reason, scope=scope)
        return IndexOutcome(file_id, name, "failed", reason, paper_id)
    state = "added" if report.added else "copied" if report.copied else "skipped"
    paper = await run_blocking(library.get_paper, paper_id) if paper_id else None
    title = paper["title"] if paper else None
    await access.mark_file(file_id, status="indexed", paper_id=paper_id, title=title, error=None)
    return IndexOutcome(file_id, name, state, f"{name}: {title or 'indexed'}", paper_id)


_READING: dict[tuple[str, str], asyncio.Task[None]] = {}  # (scope, file id) -> its indexing in the background


async def index_in_background_if_slow(library: Library, file_id: str, scope: str, record: Any, path: str | None,
                                      name: str) -> str | None:
    """A chat must not wait minutes for OCR: when reading this file would take longer than
    ``parsing.chat_ocr_budget_s`` (pages to OCR x ~12 s / OCR threads), index it in the background
    and return the line that tells the user; None when it is quick enough to index now."""
    key = (scope, file_id)
    running = _READING.get(key)
    if running is not None and not running.done():
        return f"{name}: still being read (OCR); ask again in a minute"
    if path is None or not name.lower().endswith(".pdf"):
        return None
    pages, seconds = await run_blocking(library.ocr_estimate, Path(path))
    if seconds <= library.settings.parsing.chat_ocr_budget_s:
        return None

    async def read() -> None:
        try:
            await index_file(library, file_id, scope, record, path)
        except Exception as exc:  # nobody awaits this task: record the failure where users look
            log.exception("ScholarGraph background indexing of %s failed", name)
            await access.mark_file(file_id, status="failed", error=f"{name}: {exc}", scope=scope)
        finally:
            if _READING.get(key) is task:
                del _READING[key]

    task = asyncio.get_running_loop().create_task(read())
    _READING[key] = task
    minutes = math.ceil(seconds / 60)
    pages_text = f"{pages} scanned page{' is' if pages == 1 else 's are'}"
    return f"{name}: {pages_text} being read (OCR), about {minutes} minute{'' if minutes == 1 else 's'}; ask again then"


def background_task(scope: str, file_id: str) -> asyncio.Task[None] | None:
    """The background indexing of a file still under way (tests wait on it)."""
    return _READING.get((scope, file_id))


async def sync_knowledge(library: Library, knowledge_id: str, emitter: Emitter = None, index_missing: bool = True) -> list[IndexOutcome]:
    """Make scope ``kb:{id}`` hold exactly the knowledge base's paper files: index the missing
    ones (unless they failed before), forget papers whose file left the knowledge base."""
    scope = kb_scope(knowledge_id)
    files = await access.knowledge_files(knowledge_id)
    present = await run_blocking(files_in_scope, library, scope)
    wanted = {f.id for f in files}
    for gone_id in set(present) - wanted:
        await run_blocking(remove_file, library, scope, gone_id)
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
        _, path = await access.openwebui_file(record.id)
        outcomes.append(await index_file(library, record.id, scope, record, path))
    return outcomes


@dataclass
class KnowledgeState:
    """How much of a knowledge base ScholarGraph can search: its paper files, how many are
    indexed, and which failed with what reason (Open WebUI's spinner ends before indexing does)."""

    total: int
    indexed: int
    failed: list[tuple[str, str]]

    @property
    def complete(self) -> bool:
        return self.indexed >= self.total

    def line(self) -> str:
        """'3 of 5 papers indexed, 1 failed: scan.pdf — no text layer and OCR off'."""
        from scholargraph.faces.openwebui.sources import plural

        text = f"{self.indexed} of {plural(self.total, 'paper')} indexed"
        waiting = self.total - self.indexed - len(self.failed)
        if self.failed:
            shown = "; ".join(f"{name} — {_reason(name, why)}" for name, why in self.failed[:2])
            more = f" (+{len(self.failed) - 2} more)" if len(self.failed) > 2 else ""
            text += f", {len(self.failed)} failed: {shown}{more}"
        if waiting > 0:
            text += f", {waiting} still to index"
        return text


def _reason(name: str, why: str) -> str:
    why = (why or "could not be indexed").strip()
    return why[len(name) + 1:].strip() if why.startswith(name + ":") else why


async def knowledge_state(library: Library, knowledge_id: str, outcomes: Sequence[IndexOutcome] = ()) -> KnowledgeState:
    """The indexing state of a knowledge base now; ``outcomes`` of a sync just run win over
    the failure recorded on a file's meta before it."""
    files = [f for f in await access.knowledge_files(knowledge_id) if is_paper_file(file_name(f))]
    present = await run_blocking(files_in_scope, library, kb_scope(knowledge_id))
    fresh = {o.file_id: o for o in outcomes}
    failed = []
    for record in files:
        if record.id in present:
            continue
        outcome = fresh.get(record.id)
        if outcome is not None and outcome.status in ("failed", "missing"):
            failed.append((file_name(record), outcome.message))
        elif outcome is None and file_state(record).get("status") == "failed":
            failed.append((file_name(record), file_state(record).get("error") or ""))
    return KnowledgeState(len(files), sum(1 for f in files if f.id in present), failed)


async def knowledge_summaries(library: Library, knowledge_ids: list[str]) -> list[str]:
    """'Scholarly document processing: 3 of 5 papers indexed, 1 failed: scan.pdf — reason', one per
    knowledge base (the caller checked the user may read each): the Action's heading and the
    Pipe's /status, where the state of indexing can be seen at a glance."""
    out = []
    for kb_id in knowledge_ids:
        kb = await access.knowledge_base(kb_id)
        if kb is None:
            continue
        state = await knowledge_state(library, kb_id)
        out.append(f"{getattr(kb, 'name', None) or kb_id}: {state.line()}")
    return out
