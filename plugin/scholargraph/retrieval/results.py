"""What a search returns: one passage type, from the search to every face.

A ``Passage`` is a hit (a passage that matched) or a graph neighbour's best passage
(``relation`` says how it hangs on the hit paper ``via``). It carries its paper's metadata,
read from the graph once per search, so nothing downstream looks a paper up again. The context
pack groups passages by paper (``context.CitedPaper``); each face converts them once: the service
and ``search --json`` with ``to_json``, the CLI by printing, the Open WebUI bridge into its
source dicts, the LangChain retriever into Documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Passage:
    """A passage of a paper, scored for one question; a neighbour's when ``relation`` is set."""

    paper_id: str
    title: str
    section: str
    page: int | None
    score: float
    text: str
    chunk_id: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    origin: str = ""  # the file (or item) its paper came from in its scope
    relation: str = ""  # "" for a hit; cites | cited_by | similar | shares_author (seen from the hit paper)
    via: str = ""  # a neighbour: paper id of the hit paper it hangs on
    via_title: str = ""
    hop: int = 1  # a neighbour: graph hops from that hit paper

    @property
    def is_neighbour(self) -> bool:
        return bool(self.relation)

    @property
    def why(self) -> str:
        """A neighbour's reason to be there in plain words ("cited by PaperMage"); "" for a hit."""
        if not self.is_neighbour:
            return ""
        from scholargraph.retrieval.context import relation_label  # context imports this module

        return relation_label(self.relation, self.via_title)

    def to_json(self) -> dict[str, Any]:
        """The passage as data: paper, where, score, text; a neighbour also says how it is
        related and, in plain words, why it is there (``why``)."""
        out: dict[str, Any] = {
            "paper_id": self.paper_id, "title": self.title, "section": self.section, "page": self.page,
            "score": self.score, "text": self.text, "chunk_id": self.chunk_id, "authors": list(self.authors),
            "year": self.year, "source": self.origin,  # published key: the origin
        }
        if self.is_neighbour:
            out |= {"relation": self.relation, "via": self.via, "via_title": self.via_title, "hop": self.hop,
                    "why": self.why}
        return out


@dataclass
class SearchResult:
    """Hits and neighbours for one question."""

    query: str
    language: str
    hits: list[Passage]
    neighbours: list[Passage]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The one JSON shape of a search result: ``search --json`` and the service's ``/search``
        both print this, so a script written against one reads the other."""
        return {
            "query": self.query,
            "language": self.language,
            "hits": [h.to_json() for h in self.hits],
            "neighbours": [n.to_json() for n in self.neighbours],
        }
