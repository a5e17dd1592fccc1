"""What a search returns: passages that matched, and graph neighbours with why they are there."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Passage:
    """A retrieved chunk of a paper."""

    paper_id: str
    title: str
    section: str
    page: int | None
    score: float
    text: str
    chunk_id: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    source: str = ""


@dataclass
class Neighbour:
    """A paper reached over the graph from a hit paper, with its best passage for the question."""

    paper_id: str
    title: str
    relation: str  # cites | cited_by | similar | shares_author (seen from the hit it hangs on)
    via: str  # paper id of the hit paper it hangs on
    score: float
    text: str
    hop: int = 1
    section: str = ""
    page: int | None = None
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    source: str = ""
    via_title: str = ""


@dataclass
class SearchResult:
    """Hits and neighbours for one question."""

    query: str
    language: str
    hits: list[Passage]
    neighbours: list[Neighbour]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The one JSON shape of a search result: ``search --json`` and the service's ``/search``
        both print this, so a script written against one reads the other. Every field of a hit and
        of a neighbour is there; a neighbour also says in plain words why it is there (``why``)."""
        from scholargraph.retrieval.context import relation_label  # context imports this module

        return {
            "query": self.query,
            "language": self.language,
            "hits": [asdict(h) for h in self.hits],
            "neighbours": [{**asdict(n), "why": relation_label(n.relation, n.via_title)} for n in self.neighbours],
        }
