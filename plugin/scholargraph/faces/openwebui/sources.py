"""The engine's context pack in the shapes Open WebUI's citation UI reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scholargraph.faces.openwebui.scopes import SOURCE_TYPE, parse_file_origin

if TYPE_CHECKING:
    from scholargraph.retrieval.context import ContextPack


def _fence(text: str) -> str:
    """Keep a paper from closing the <source> tag Open WebUI wraps it in."""
    return text.replace("</source", "&lt;/source").replace("<source", "&lt;source")


def _where(section: str, page: int | None) -> str:
    return "; ".join(p for p in (f"section: {section}" if section else "", f"p. {page}" if page else "") if p)


def pack_sources(pack: ContextPack, scopes: list[str], base: str = "") -> list[dict[str, Any]]:
    """One Open WebUI source per paper of a context pack, numbered as the pack numbers them.

    Shape (what Open WebUI's citation UI reads): ``{"source": {"id", "name", "url", ...},
    "document": [passage...], "metadata": [{"source", "name", "page", ...}], "distances": [score...]}``.
    ``metadata.source`` is the same for every passage of a paper, so the UI groups them and
    numbers the papers [1], [2]... in this order. ``page`` is 0-based as in Open WebUI.
    """
    out = []
    for src in pack.cited:
        parsed = parse_file_origin(src.origin)
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


def summary(pack: ContextPack) -> tuple[int, int, int]:
    """(passages, papers, graph neighbours) of a context pack."""
    hits = [s for s in pack.cited if not s.relation]
    return sum(len(s.passages) for s in hits), len(hits), len(pack.cited) - len(hits)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 paper', '2 papers' (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def summary_line(pack: ContextPack) -> str:
    """The status line after a search: '8 passages from 1 paper, graph: 1 neighbour'."""
    passages, papers, neighbours = summary(pack)
    return f"{plural(passages, 'passage')} from {plural(papers, 'paper')}, graph: {plural(neighbours, 'neighbour')}"
