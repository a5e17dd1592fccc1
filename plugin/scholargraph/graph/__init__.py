"""The paper knowledge graph: papers, authors, references and cites / similar / shares_author edges.

SQLAlchemy Core over SQLite by default (any SQLAlchemy URL, e.g. PostgreSQL, for shared
deployments). ``PaperGraph`` is the whole public surface and ``rows`` the typed rows it
returns; ``keys`` holds the normalisation that citation resolution (``resolve``) relies on.

The names below load their module on first use (PEP 562): parsing imports ``graph.keys``, and a
parse worker process must not pay for SQLAlchemy (imports and memory) it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scholargraph.graph.paper_graph import PaperGraph
    from scholargraph.graph.rows import (
        EdgeRow, GraphExport, GraphStats, NeighbourLink, NeighbourRow, PaperRow, ReferenceRow,
    )
    from scholargraph.graph.schema import EDGE_KINDS
    from scholargraph.graph.walk import RELATIONS

# name -> the module of this package that defines it
_HOMES: dict[str, str] = {
    "PaperGraph": "paper_graph",
    "EdgeRow": "rows",
    "GraphExport": "rows",
    "GraphStats": "rows",
    "NeighbourLink": "rows",
    "NeighbourRow": "rows",
    "PaperRow": "rows",
    "ReferenceRow": "rows",
    "EDGE_KINDS": "schema",
    "RELATIONS": "walk",
}

__all__ = [
    "EDGE_KINDS", "RELATIONS", "EdgeRow", "GraphExport", "GraphStats", "NeighbourLink", "NeighbourRow",
    "PaperGraph", "PaperRow", "ReferenceRow",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
