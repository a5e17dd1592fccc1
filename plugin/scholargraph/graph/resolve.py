"""Citation resolution: which library paper does a reference point to, and the reverse.

Keys are tried strongest first: DOI, then arXiv id, then title (exact, then fuzzy above
``graph.title_match_threshold``). A title match is refused when both years are known and
further apart than ``graph.year_tolerance``, and a reference never resolves to the paper that
holds it. The reverse direction (a new paper arrives: which existing references point to it?)
applies the same rules, and also takes over references that were resolved by a weaker key, so
the graph ends up the same whatever order papers are ingested in.

Titles are only compared with titles that share a blocking key (``keys.title_blocks``), found
through an index, so resolution cost stays flat as the library grows.

These functions only read; the caller writes the outcome inside its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import Connection, Table, and_, or_, select

from scholargraph.graph.database import IN_BATCH, batched
from scholargraph.graph.keys import (
    SUBTITLE_DISCOUNT,
    arxiv_id_from_doi,
    is_short_title,
    main_title,
    normalise_arxiv_id,
    normalise_doi,
    normalise_title,
    title_blocks,
    title_match_score,
)
from scholargraph.graph.schema import paper_references, papers
from scholargraph.models import Paper, Reference
from scholargraph.settings import GraphSettings

METHOD_RANK = {"title": 1, "arxiv": 2, "doi": 3}


@dataclass(frozen=True)
class Keys:
    """The match keys of a paper or a reference. ``owner`` is the paper (or citing paper) id."""

    owner: str
    doi: str | None
    arxiv_id: str | None
    norm_title: str | None
    norm_main_title: str | None
    year: int | None
    ref_id: int | None = None  # the paper_references row, for references already stored

    @property
    def title_head(self) -> str | None:
        return title_blocks(self.norm_title)[0]

    @property
    def title_tail(self) -> str | None:
        return title_blocks(self.norm_title)[1]

    @property
    def main_title_tail(self) -> str | None:
        return title_blocks(self.norm_main_title)[1]

    def block_columns(self) -> dict[str, str | None]:
        """The blocking-key columns stored with this paper or reference."""
        return {"title_head": self.title_head, "title_tail": self.title_tail, "main_title_tail": self.main_title_tail}


@dataclass(frozen=True)
class Match:
    """A resolved target and how it was found."""

    paper_id: str
    method: str  # doi | arxiv | title
    score: float  # 1.0 for identifiers and exact titles

    @property
    def rank(self) -> tuple[int, float]:
        return METHOD_RANK[self.method], self.score


def paper_keys(paper: Paper) -> Keys:
    doi = normalise_doi(paper.doi)
    return Keys(
        owner=paper.id,
        doi=doi,
        arxiv_id=normalise_arxiv_id(paper.arxiv_id) or arxiv_id_from_doi(doi),
        norm_title=normalise_title(paper.title),
        norm_main_title=main_title(paper.title),
        year=paper.year,
    )


def reference_keys(citing_id: str, ref: Reference) -> Keys:
    doi = normalise_doi(ref.doi)
    return Keys(
        owner=citing_id,
        doi=doi,
        arxiv_id=normalise_arxiv_id(ref.arxiv_id) or arxiv_id_from_doi(doi),
        norm_title=normalise_title(ref.title),
        norm_main_title=main_title(ref.title),
        year=ref.year,
    )


def years_compatible(a: int | None, b: int | None, tolerance: int) -> bool:
    """Preprint and journal version of one work are often a year or two apart; more than
    ``tolerance``, and an equal title is more likely a different paper (a survey updated)."""
    return a is None or b is None or abs(a - b) <= tolerance


class TitleIndex:
    """Titles to match fuzzily: rapidfuzz scans them in C, then the guards judge its hits."""

    def __init__(self, entries: Sequence[tuple[Any, str | None, str | None, int | None]]) -> None:
        """``entries``: (key, norm_title, norm_main_title, year)."""
        self.entries = [e for e in entries if e[1]]
        self._full = [e[1] for e in self.entries]
        self._with_main = [i for i, e in enumerate(self.entries) if e[2] and not is_short_title(e[2])]
        self._mains = [self.entries[i][2] for i in self._with_main]
        self._plain = [i for i, e in enumerate(self.entries) if not e[2]]
        self._plain_titles = [self.entries[i][1] for i in self._plain]

    def search(
        self, norm: str | None, main: str | None, year: int | None, rules: GraphSettings
    ) -> list[tuple[Any, float, int | None]]:
        """Entries matching the title at ``rules.title_match_threshold`` or better, in years
        compatible with ``year``: (key, score, year)."""
        if not norm or not self.entries:
            return []
        threshold = rules.title_match_threshold
        cutoff = min(100.0, threshold * 100.0)
        sub_cutoff = min(100.0, threshold * 100.0 / SUBTITLE_DISCOUNT)
        candidates = {i for _, _, i in process.extract(norm, self._full, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)}
        if main is None and self._mains:
            hits = process.extract(norm, self._mains, scorer=fuzz.ratio, score_cutoff=sub_cutoff, limit=None)
            candidates.update(self._with_main[i] for _, _, i in hits)
        if main and not is_short_title(main) and self._plain_titles:
            hits = process.extract(main, self._plain_titles, scorer=fuzz.ratio, score_cutoff=sub_cutoff, limit=None)
            candidates.update(self._plain[i] for _, _, i in hits)
        found = []
        for i in candidates:
            key, e_norm, e_main, e_year = self.entries[i]
            if not years_compatible(year, e_year, rules.year_tolerance):
                continue
            score = title_match_score(norm, main, e_norm, e_main)
            if score >= threshold:
                found.append((key, score, e_year))
        return found


def _block_filter(table: Table, keys: Sequence[Keys]) -> Any:
    """SQL candidates for a title search: rows sharing a blocking key with any of ``keys``.

    Heads are shared by a title and its main title; tails are compared across full and
    main titles so that a dropped subtitle still finds its paper.
    """
    heads = {k.title_head for k in keys} - {None}
    tails = {k.title_tail for k in keys} - {None}
    main_tails = {k.main_title_tail for k in keys} - {None}
    return or_(
        table.c.title_head.in_(sorted(heads)),
        table.c.title_tail.in_(sorted(tails | main_tails)),
        table.c.main_title_tail.in_(sorted(tails)),
    )


def _papers_by(conn: Connection, column: Any, values: set[str]) -> dict[str, list[str]]:
    """Paper ids per key value, sorted, so ties resolve the same way every time."""
    found: dict[str, list[str]] = {}
    for chunk in batched(sorted(values)):
        rows = conn.execute(select(column, papers.c.id).where(column.in_(chunk)).order_by(papers.c.id))
        for value, paper_id in rows:
            found.setdefault(value, []).append(paper_id)
    return found


def resolve_references(conn: Connection, refs: Sequence[Keys], rules: GraphSettings) -> list[Match | None]:
    """The library paper each reference points to (or None), in a handful of queries."""
    results: list[Match | None] = [None] * len(refs)
    by_doi = _papers_by(conn, papers.c.doi, {r.doi for r in refs if r.doi})
    by_arxiv = _papers_by(conn, papers.c.arxiv_id, {r.arxiv_id for r in refs if r.arxiv_id})
    for i, ref in enumerate(refs):
        for method, table, key in (("doi", by_doi, ref.doi), ("arxiv", by_arxiv, ref.arxiv_id)):
            targets = [p for p in table.get(key, []) if p != ref.owner] if key else []
            if targets:
                results[i] = Match(targets[0], method, 1.0)
                break

    pending = [i for i, ref in enumerate(refs) if results[i] is None and ref.norm_title]
    for chunk in batched(pending, IN_BATCH // 4):  # up to four block keys per reference
        query = select(papers.c.id, papers.c.norm_title, papers.c.norm_main_title, papers.c.year).where(
            _block_filter(papers, [refs[i] for i in chunk])
        )
        index = TitleIndex([tuple(row) for row in conn.execute(query)])
        for i in chunk:
            ref = refs[i]
            hits = [h for h in index.search(ref.norm_title, ref.norm_main_title, ref.year, rules) if h[0] != ref.owner]
            if hits:
                # best score; then the same year; then the smallest id, for a stable choice
                paper_id, score, _ = min(hits, key=lambda h: (-h[1], h[2] != ref.year, h[0]))
                results[i] = Match(paper_id, "title", score)
    return results


def find_citing_references(conn: Connection, paper: Keys, rules: GraphSettings) -> dict[int, Match]:
    """Stored references of other papers that should point to ``paper``: ref id -> match.

    Unresolved references that match it, and resolved ones it matches by a stronger key
    (a DOI beats an arXiv id beats a title; a better title score beats a worse one).
    """
    r = paper_references
    others = r.c.paper_id != paper.owner
    found: dict[int, Match] = {}
    if paper.doi:
        weaker = or_(r.c.target_paper_id.is_(None), r.c.match_method != "doi")
        for (ref_id,) in conn.execute(select(r.c.id).where(r.c.doi == paper.doi, others, weaker)):
            found[ref_id] = Match(paper.owner, "doi", 1.0)
    if paper.arxiv_id:
        weaker = or_(r.c.target_paper_id.is_(None), r.c.match_method == "title")
        for (ref_id,) in conn.execute(select(r.c.id).where(r.c.arxiv_id == paper.arxiv_id, others, weaker)):
            found.setdefault(ref_id, Match(paper.owner, "arxiv", 1.0))
    if not paper.norm_title:
        return found

    weaker = or_(r.c.target_paper_id.is_(None), and_(r.c.match_method == "title", r.c.match_score < 1.0))
    query = select(r.c.id, r.c.norm_title, r.c.norm_main_title, r.c.year, r.c.match_score).where(
        _block_filter(r, [paper]), others, weaker
    )
    if paper.year is not None:
        tolerance = rules.year_tolerance
        query = query.where(or_(r.c.year.is_(None), r.c.year.between(paper.year - tolerance, paper.year + tolerance)))
    rows = conn.execute(query).all()
    old_scores = {row.id: row.match_score for row in rows}
    index = TitleIndex([(row.id, row.norm_title, row.norm_main_title, row.year) for row in rows])
    for ref_id, score, _ in index.search(paper.norm_title, paper.norm_main_title, paper.year, rules):
        old = old_scores[ref_id]
        if ref_id not in found and (old is None or score > old):
            found[ref_id] = Match(paper.owner, "title", score)
    return found
