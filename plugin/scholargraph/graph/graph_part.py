"""What every role of ``PaperGraph`` shares: its database, settings and the row checks more than
one role runs.

``PaperGraph`` is composed of roles (membership, paper rows, citation graph, vector tables,
export), each a class in its own module; they all stand on ``GraphPart``, so each module reads
on its own and the checker sees what a role may use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from sqlalchemy import Connection, select

from scholargraph.errors import StoreError
from scholargraph.graph.database import Database, batched
from scholargraph.graph.schema import paper_scopes, papers
from scholargraph.settings import GraphSettings


class GraphPart:
    """The state the roles share; ``PaperGraph.__init__`` sets it."""

    db: Database
    settings: GraphSettings
    # papers that lost a 'similar' edge to a deleted paper (``CitationGraph.take_similar_stale``)
    _similar_stale: set[str]

    @property
    def url(self) -> str:
        """The database URL without its password, fit for messages and stats."""
        return self.db.display_url

    def _require(self, conn: Connection, paper_id: str) -> None:
        if not paper_exists(conn, paper_id):
            raise StoreError(f"graph database {self.url}: no paper {paper_id}; ingest it first")


def now() -> datetime:
    return datetime.now(timezone.utc)


def check_scope(scope: str) -> None:
    if not scope or not isinstance(scope, str):
        raise ValueError("a scope name is required (a knowledge base, chat or collection id)")


def paper_exists(conn: Connection, paper_id: str) -> bool:
    return conn.execute(select(papers.c.id).where(papers.c.id == paper_id)).first() is not None


def in_scope(conn: Connection, paper_id: str, scope: str) -> bool:
    ps = paper_scopes
    return conn.execute(select(ps.c.paper_id).where(ps.c.paper_id == paper_id, ps.c.scope == scope)).first() is not None


def visible(conn: Connection, paper_id: str, scopes: Sequence[str]) -> bool:
    return bool(visible_among(conn, [paper_id], scopes))


def visible_among(conn: Connection, paper_ids: Iterable[str], scopes: Sequence[str]) -> set[str]:
    """Those of ``paper_ids`` that belong to one of ``scopes``."""
    found: set[str] = set()
    if not scopes:
        return found
    for chunk in batched(set(paper_ids)):
        query = select(paper_scopes.c.paper_id).where(
            paper_scopes.c.paper_id.in_(chunk), paper_scopes.c.scope.in_(list(scopes))
        )
        found.update(conn.scalars(query))
    return found
