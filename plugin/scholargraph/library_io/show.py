"""One paper's full record: metadata, abstract, sections, what it cites inside and outside the
library, what in the library cites it, and the papers most like it.

Everything is read through the graph's and the store's public reads with the caller's scopes,
so a paper outside them is not shown, and neither are its links to papers outside them.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from scholargraph.graph.keys import normalise_title
from scholargraph.library_io.links import arxiv_url, best_url, doi_url
from scholargraph.library_io.records import get_records

if TYPE_CHECKING:  # a type only: library_io runs over a Library and is imported by it
    from scholargraph.graph.rows import PaperRow
    from scholargraph.library import Library


def show_paper(library: Library, paper_id: str, scopes: list[str] | None = None) -> dict[str, Any] | None:
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
        other = titles.get(pid)
        return {"id": pid, "title": other and other["title"], "year": other and other["year"]}

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
            "tags": record.tags, "origin": record.import_format},
        "abstract": paper.get("abstract") or "",
        "sections": sections_of(library, paper_id, paper["scopes"][0]),
        "cites_in_library": inside,
        "cites_outside_library": outside,
        "cited_by": [brief(n["paper_id"]) for n in cited_by],
        "similar": [{**brief(n["paper_id"]), "cosine": round(n["weight"], 4)} for n in similar],
    }


def sections_of(library: Library, paper_id: str, scope: str) -> list[dict[str, Any]]:
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


# -- finding a paper by id or title words, and the record as chat markdown -------------------------
TITLE_CUTOFF = 80  # rapidfuzz token_set_ratio (0-100) a title needs to count as a match
TIE_MARGIN = 5  # titles scoring within this of the best are as good a match: the user picks


def find_papers(library: Library, query: str, scopes: list[str] | None, limit: int = 10) -> list[PaperRow]:
    """Visible papers ``query`` names: its id, else titles holding its words (best first).

    One entry means the paper is found; several mean the words fit several titles about as
    well. token_set_ratio scores 100 when every query word is in the title, so a few
    distinctive words ("PaperMage") find a long title, and a typo still lands near it."""
    from rapidfuzz import fuzz, process

    query = query.strip()
    if not query:
        return []
    exact = library.graph.get_paper(query, scopes)
    if exact is not None:
        return [exact]
    papers = library.graph.papers(scopes)
    titles = {i: normalise_title(p.get("title")) or "" for i, p in enumerate(papers)}
    hits = process.extract(normalise_title(query) or query, titles, scorer=fuzz.token_set_ratio,
                           score_cutoff=TITLE_CUTOFF, limit=limit)
    if not hits:
        return []
    best = hits[0][1]
    top = [papers[i] for _, score, i in hits if score >= best - TIE_MARGIN]
    return top if len(top) == 1 else [papers[i] for _, _, i in hits]


def show_markdown(library: Library, query: str, scopes: list[str] | None, command: str = "/show") -> str:
    """The answer to ``/show <id or title words>`` in a chat: the paper's record as markdown,
    a numbered list to pick from when the words fit several papers, or why nothing is shown."""
    found = find_papers(library, query, scopes)
    if not found:
        return f"No readable paper matches “{query.strip()}”."
    if len(found) > 1:
        lines = [f"Several of your papers match “{query.strip()}”; pick one with `{command} <id>`:", ""]
        lines += [f"{n}. {_md(p.get('title') or p['id'])}{_year(p.get('year'))} — `{command} {p['id']}`"
                  for n, p in enumerate(found, 1)]
        return "\n".join(lines)
    data = show_paper(library, found[0]["id"], scopes)
    return to_markdown(data) if data else f"No readable paper matches “{query.strip()}”."


def to_markdown(data: dict[str, Any], outside_limit: int = 25) -> str:
    """``show_paper``'s record as markdown (for a chat): what the CLI's ``show`` prints."""
    out = [f"### {_md(data['title'] or data['id'])}"]
    byline = ", ".join(_md(a) for a in data["authors"]) + _year(data["year"])
    if byline.strip():
        out.append(byline.strip())
    links = " · ".join(f"[{_LINK_NAMES.get(k, k)}]({url})" for k, url in data["links"].items())
    facts = [f"id `{data['id']}`", f"{data['pages'] or 0} pages", f"{data['chunks']} chunks"]
    if data["metadata_only"]:
        facts.append("metadata only")
    out.append(" · ".join(([links] if links else []) + facts))
    if data["abstract"]:
        out += ["", "**Abstract**", "", _md(data["abstract"])]
    body = [s for s in data["sections"] if s["kind"] == "body"]
    if body:
        out += ["", "**Sections**", ""]
        out += [f"- {_md(s['title'] or '(untitled)')}{_pages(s)}" for s in body]
    others = Counter(s["kind"] for s in data["sections"] if s["kind"] != "body")
    if others:  # captions, tables, footnotes: counted, a chat has no room for each
        out += ["", "Also: " + ", ".join(f"{n} {kind} block{'s' if n > 1 else ''}" for kind, n in sorted(others.items()))]
    for label, key in (("Cites in the library", "cites_in_library"), ("Cited by", "cited_by"), ("Similar", "similar")):
        if data[key]:
            out += ["", f"**{label}**", ""]
            out += [f"- {_md(p['title'] or p['id'])}{_year(p['year'])} — `{p['id']}`" for p in data[key]]
    outside = data["cites_outside_library"]
    if outside:
        out += ["", f"**Cites outside the library** ({len(outside)})", ""]
        for ref in outside[:outside_limit]:
            text = _md(ref["title"] or ref["reference"][:160]) + _year(ref["year"])
            name = "DOI" if ref["doi"] else "arXiv" if ref["arxiv_id"] else "link"
            out.append(f"- {text}" + (f" — [{name}]({ref['url']})" if ref["url"] else ""))
        if len(outside) > outside_limit:
            out.append(f"- … and {len(outside) - outside_limit} more (`scholargraph show {data['id']}`)")
    return "\n".join(out)


_LINK_NAMES = {"doi": "DOI", "arxiv": "arXiv", "url": "URL"}
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|"})


def _md(text: str) -> str:
    """Text from a PDF shown as itself, not as markdown (a title's ``*`` or ``[1]``)."""
    return " ".join(str(text).split()).translate(_MD_SPECIAL)


def _year(year: Any) -> str:
    return f" ({year})" if year else ""


def _pages(section: dict[str, Any]) -> str:
    start, end = section["page_start"], section["page_end"]
    if not start:
        return ""
    return f", p. {start}" + (f"–{end}" if end and end != start else "")
