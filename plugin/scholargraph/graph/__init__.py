"""The paper knowledge graph: papers, authors, references and cites / similar / shares_author edges.

SQLAlchemy Core over SQLite by default (any SQLAlchemy URL, e.g. PostgreSQL, for shared
deployments). ``PaperGraph`` is the whole public surface and ``rows`` the typed rows it
returns; ``keys`` holds the normalisation that citation resolution (``resolve``) relies on.
"""

from scholargraph.graph.paper_graph import PaperGraph
from scholargraph.graph.rows import EdgeRow, GraphExport, GraphStats, NeighbourLink, NeighbourRow, PaperRow, ReferenceRow
from scholargraph.graph.schema import EDGE_KINDS
from scholargraph.graph.walk import RELATIONS

__all__ = [
    "EDGE_KINDS", "RELATIONS", "EdgeRow", "GraphExport", "GraphStats", "NeighbourLink", "NeighbourRow",
    "PaperGraph", "PaperRow", "ReferenceRow",
]
