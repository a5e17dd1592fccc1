"""Open WebUI files into scopes: index on upload or on demand, forget on removal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scholargraph.openwebui_bridge import access
from scholargraph.openwebui_bridge.access import file_name, file_state
from scholargraph.openwebui_bridge.runtime import WRITE_LOCK, Emitter, emit, run_blocking, status
from scholargraph.openwebui_bridge.scopes import file_source, is_paper_file, kb_scope, parse_file_source


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
        record, path = await access.openwebui_file(file_id)
    name = file_name(record) if record is not None else file_id
    if record is None or path is None:
        return IndexOutcome(file_id, name, "missing", f"{name}: file not found in Open WebUI storage")
    if not is_paper_file(name):
        return IndexOutcome(file_id, name, "unsupported", f"{name}: not a paper file ScholarGraph reads")
    report = await run_blocking(_ingest_file, library, path, file_id, name, scope)
    paper_id = next(iter(report.paper_ids.values()), None)
    if report.failed:
        reason = report.failed[0][1].replace(Path(path).name, name)
        await access.mark_file(file_id, status="failed", error=reason, scope=scope)
        return IndexOutcome(file_id, name, "failed", reason, paper_id)
    state = "added" if report.added else "copied" if report.copied else "skipped"
    papers = await run_blocking(library.graph.get_paper, paper_id) if paper_id else None
    await access.mark_file(file_id, status="indexed", paper_id=paper_id, title=(papers or {}).get("title"), error=None)
    return IndexOutcome(file_id, name, state, f"{name}: {(papers or {}).get('title') or 'indexed'}", paper_id)


async def sync_knowledge(library, knowledge_id: str, emitter: Emitter = None, index_missing: bool = True) -> list[IndexOutcome]:
    """Make scope ``kb:{id}`` hold exactly the knowledge base's paper files: index the missing
    ones (unless they failed before), forget papers whose file left the knowledge base."""
    scope = kb_scope(knowledge_id)
    files = await access.knowledge_files(knowledge_id)
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
        _, path = await access.openwebui_file(record.id)
        outcomes.append(await index_file(library, record.id, scope, record, path))
    return outcomes
