"""What the paper graph returns across its seam: typed rows, not anonymous dicts.

``TypedDict`` rather than dataclasses because every caller (faces, JSON output, tests) reads
them as mappings (``paper["title"]``) and they go to JSON as they are; the types let the
checker see a misspelt key on both sides of the seam.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class PaperRow(TypedDict):
    """A visible paper: metadata, and ``source`` / ``chunks`` from its first visible scope.
    ``source`` is the paper's origin there (the stored column's name, and the key clients of
    /papers, /show and the graph JSON read, so it stays ``source`` in the row).

    ``scopes`` lists only the scopes the reader asked for (scopes are permissions).
    ``abstract`` and ``content_hash`` are there for one paper read on its own (``get_paper``).
    """

    id: str
    title: str
    authors: list[str]
    year: int | None
    doi: str | None
    arxiv_id: str | None
    language: str | None
    pages: int | None
    source: str | None
    chunks: int
    scopes: list[str]
    abstract: NotRequired[str | None]
    content_hash: NotRequired[str]


class ReferenceRow(TypedDict):
    """One entry of a paper's reference list, with its library target where it resolved."""

    id: int
    position: int
    raw: str
    doi: str | None
    arxiv_id: str | None
    title: str | None
    year: int | None
    target_paper_id: str | None
    match_method: str | None  # doi | arxiv | title, when resolved
    match_score: float | None


class EdgeRow(TypedDict):
    """An edge with both ends visible; ``cites`` runs citing -> cited, the others are stored once.
    ``source`` / ``target``: the edge's two ends (column names and the graph JSON's keys)."""

    source: str
    target: str
    kind: str  # schema.EDGE_KINDS
    weight: float


class NeighbourLink(TypedDict):
    """How a neighbour hangs on a paper: ``relation`` (walk.RELATIONS) from ``via``'s side."""

    relation: str
    via: str
    weight: float


class NeighbourRow(TypedDict):
    """A paper found by the graph walk at its smallest ``hop``, with its strongest link and all
    its links at that hop."""

    paper_id: str
    hop: int
    relation: str
    via: str
    weight: float
    relations: list[NeighbourLink]


class GraphStats(TypedDict):
    """Counts over the visible part of the graph."""

    papers: int
    scopes: int
    authors: int
    references: int
    resolved_references: int
    edges: dict[str, int]  # by kind, every kind present


class GraphExport(TypedDict):
    """The visible graph, JSON-ready: what the graph page and ``scholargraph graph`` draw."""

    nodes: list[PaperRow]
    edges: list[EdgeRow]
