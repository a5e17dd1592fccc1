"""The "Export citations" Action: the BibTeX (or RIS, CSL-JSON) of the papers a message cites.

Only papers in knowledge bases and files the user may read are exported (Open WebUI's own
access check, as for the graph Action); the citations come from ``library_io.export``, so keys
are the library's stable keys.
"""

from __future__ import annotations

import base64
import html
from typing import Any

from scholargraph.faces.openwebui import access
from scholargraph.faces.openwebui.runtime import get_library, run_blocking
from scholargraph.faces.openwebui.scopes import SOURCE_TYPE, file_ids, file_scope, kb_ids, kb_scope
from scholargraph.faces.openwebui.valves import settings_from_valves

_SUFFIX = {"bibtex": "bib", "ris": "ris", "csl-json": "json"}


def cited_papers(body: dict[str, Any]) -> tuple[list[str], set[str]]:
    """(paper ids in citation order, scopes named) of the ScholarGraph sources of the message acted on."""
    messages = body.get("messages") or []
    message = next((m for m in messages if m.get("id") == body.get("id")), messages[-1] if messages else {})
    paper_ids: list[str] = []
    scopes: set[str] = set()
    for src in message.get("sources") or []:
        head = src.get("source") or {}
        if head.get("type") == SOURCE_TYPE and head.get("paper_id"):
            if head["paper_id"] not in paper_ids:
                paper_ids.append(head["paper_id"])
            scopes.update(head.get("scopes") or [])
    return paper_ids, scopes


async def citations_text(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None) -> str:
    """The citations of the readable papers the message cites, in ``valves.format``; '' when none."""
    paper_ids, scopes = cited_papers(body)
    if not paper_ids:
        return ""
    kbs, files = await access.readable(user or {}, kb_ids(scopes), file_ids(scopes))
    allowed = [kb_scope(k) for k in kbs] + [file_scope(f) for f in files]
    library = get_library(settings_from_valves(valves))
    visible = await run_blocking(library.papers_by_ids, paper_ids, allowed)
    readable = [p for p in paper_ids if p in visible]
    if not readable:
        return ""
    return await run_blocking(library.export, getattr(valves, "format", "bibtex"), allowed, readable)


async def citations_embed(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None) -> str:
    """An embed showing the citations, with a download link and a copy button."""
    fmt = getattr(valves, "format", "bibtex")
    text = await citations_text(body, valves=valves, user=user)
    if not text:
        return "<p style='font-family:sans-serif'>No ScholarGraph sources you can read in this message.</p>"
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return (
        "<div style='font-family:sans-serif;font-size:13px'>"
        f"<a download='citations.{_SUFFIX.get(fmt, 'txt')}' href='data:text/plain;charset=utf-8;base64,{data}'>"
        f"Download {html.escape(fmt)}</a> · "
        "<a href='#' onclick=\"navigator.clipboard.writeText(document.getElementById('sg-cite').innerText);return false\">Copy</a>"
        f"<pre id='sg-cite' style='white-space:pre-wrap;max-height:360px;overflow:auto'>{html.escape(text)}</pre></div>"
    )
