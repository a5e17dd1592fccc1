"""One paper's full record: metadata, abstract, sections, what it cites inside and outside the
library, what in the library cites it, and the papers most like it.

Everything is read through the graph's and the store's public reads with the caller's scopes,
so a paper outside them is not shown, and neither are its links to papers outside them.
"""

from __future__ import annotations

from typing import Any

from scholargraph.library_io.links import arxiv_url, best_url, doi_url
from scholargraph.library_io.records import get_records


def show_paper(library: Any, paper_id: str, scopes: list[str] | None = None) -> dict[str, Any] | None:
    """The paper's record as a JSON-ready dict, or None when it is absent or not visible."""
    graph = library.graph
    paper = graph.get_paper(paper_id, scopes)
    if paper is None:
        return None
    record = get_records(graph, [paper_id]).get(paper_id)
    references = graph.references_of(paper_id, scopes)
    cited_ids = [r["target_paper_id"] for r in references if r["target_paper_id"]]
    cited_by = graph.neighbours([paper_id], scopes, hops=1, kinds=["cited_by"])
    similar = graph.neighbours([paper_id], scopes, hops=1, kinds=["similar"])
    titles = graph.papers_by_ids(cited_ids + [n["paper_id"] for n in cited_by + similar], scopes)

    def brief(pid: str) -> dict[str, Any]:
        other = titles.get(pid, {})
        return {"id": pid, "title": other.get("title"), "year": other.get("year")}

    inside, seen = [], set()
    for ref in references:
        target = ref["target_paper_id"]
        if target and target not in seen:
            seen.add(target)
            inside.append({**brief(target), "match": ref["match_method"], "reference": ref["raw"]})
    outside = [
        {"position": ref["position"], "title": ref["title"], "year": ref["year"], "doi": ref["doi"],
         "arxiv_id": ref["arxiv_id"], "url": best_url(ref["doi"], ref["arxiv_id"]), "reference": ref["raw"]}
        for ref in references if not ref["target_paper_id"]
    ]
    return {
        "id": paper["id"],
        "title": paper["title"],
        "authors": paper["authors"],
        "year": paper["year"],
        "doi": paper["doi"],
        "arxiv_id": paper["arxiv_id"],
        "links": {k: v for k, v in (("doi", doi_url(paper["doi"])), ("arxiv", arxiv_url(paper["arxiv_id"])),
                                    ("url", record.url if record else None)) if v},
        "language": paper["language"],
        "pages": paper["pages"],
        "source": paper["source"],
        "scopes": paper["scopes"],
        "chunks": paper["chunks"],
        "metadata_only": bool(record and record.metadata_only),
        "record": None if record is None else {
            "cite_key": record.cite_key, "entry_type": record.entry_type, "venue": record.venue,
            "tags": record.tags, "origin": record.origin},
        "abstract": paper.get("abstract") or "",
        "sections": sections_of(library, paper_id, paper["scopes"][0]),
        "cites_in_library": inside,
        "cites_outside_library": outside,
        "cited_by": [brief(n["paper_id"]) for n in cited_by],
        "similar": [{**brief(n["paper_id"]), "cosine": round(n["weight"], 4)} for n in similar],
    }


def sections_of(library: Any, paper_id: str, scope: str) -> list[dict[str, Any]]:
    """The paper's sections in reading order, as its stored chunks name them (title, kind,
    pages, chunks): the parsed paper itself is not kept, its chunks are."""
    got = library.store.paper_chunks(paper_id, scope)
    out: list[dict[str, Any]] = []
    for meta in got["metadatas"]:
        title, kind = meta.get("section") or "", meta.get("kind", "body")
        if out and out[-1]["title"] == title and out[-1]["kind"] == kind:
            section = out[-1]
        else:
            section = {"title": title, "kind": kind, "page_start": None, "page_end": None, "chunks": 0}
            out.append(section)
        section["chunks"] += 1
        for key, pick in (("page_start", min), ("page_end", max)):
            page = meta.get(key)
            if page is not None:
                section[key] = page if section[key] is None else pick(section[key], page)
    return out
