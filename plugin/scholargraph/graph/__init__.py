"""The paper knowledge graph: papers, authors, references and cites / similar / shares_author edges.

SQLAlchemy Core over SQLite by default (any SQLAlchemy URL, e.g. PostgreSQL, for shared
deployments). ``PaperGraph`` is the whole public surface; ``keys`` holds the normalisation
that citation resolution (``resolve``) relies on.
"""

from scholargraph.graph.walk import RELATIONS
from scholargraph.graph.schema import EDGE_KINDS
from scholargraph.graph.store import PaperGraph

__all__ = ["EDGE_KINDS", "RELATIONS", "PaperGraph"]
