"""The Action: the paper graph around the papers a message cites, drawn in the chat."""

from __future__ import annotations

from typing import Any

from scholargraph.faces.openwebui import access
from scholargraph.faces.openwebui.access import base_url
from scholargraph.faces.openwebui.citations import cited_papers
from scholargraph.faces.openwebui.indexing import knowledge_summaries
from scholargraph.faces.openwebui.runtime import get_library, run_blocking
from scholargraph.faces.openwebui.scopes import file_ids, file_scope, kb_ids, kb_scope, parse_file_origin
from scholargraph.faces.openwebui.valves import settings_from_valves


async def graph_embed(body: dict[str, Any], *, valves: Any, user: dict[str, Any] | None, request: Any = None) -> str:
    """HTML of the graph around the papers a message cites, limited to scopes the user may read."""
    from scholargraph.faces.graph_page import render_graph_html

    user = user or {}
    paper_ids, scopes = cited_papers(body)
    if not paper_ids:
        return render_graph_html({"nodes": [], "edges": []}, title="No ScholarGraph sources in this message")
    kbs, files = await access.readable(user, kb_ids(scopes), file_ids(scopes))
    allowed = [kb_scope(k) for k in kbs] + [file_scope(f) for f in files]
    library = get_library(settings_from_valves(valves))
    hops = max(1, int(getattr(valves, "graph_hops", 1)))
    around = await run_blocking(library.graph_json, allowed, around=paper_ids, hops=hops)
    base = base_url(request)

    def url(node: dict[str, Any]) -> str | None:
        parsed = parse_file_origin(node.get("source"))  # a graph node's published key
        return f"{base}/api/v1/files/{parsed[0]}/content" if parsed and base else None

    title = " · ".join(["Papers around this answer"] + await knowledge_summaries(library, sorted(kbs)))
    return render_graph_html(around, title=title, paper_url=url, highlight=paper_ids,
                             height=int(getattr(valves, "height", 480)))
