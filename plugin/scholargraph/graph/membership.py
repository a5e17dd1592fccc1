"""Which scopes hold a paper, and which files it came from in each.

A scope is a knowledge base, a chat or a user collection (``scholargraph.scope_names``); every
read of the graph filters on membership, so scopes are permissions. A paper leaves a scope when
its last origin there is removed, and the library when its last scope goes.

An origin is what a paper came from in a scope: a file path, an Open WebUI file
(``openwebui-file:{id}/{name}``), a Zotero item or a reference list's entry. It is stored as
``source`` (the ``paper_sources`` table and ``paper_scopes.source``): column names of existing
libraries, kept on disk and read as origins here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, delete, func, select

from scholargraph.errors import StoreError
from scholargraph.graph.database import batched, insert_ignore, upsert
from scholargraph.graph.graph_part import GraphPart, check_scope, in_scope, now
from scholargraph.graph.removal import delete_papers
from scholargraph.graph.schema import paper_scopes, paper_sources
from scholargraph.ids import chunk_id


class Membership(GraphPart):
    """Scopes and origins: joining, leaving, and what a scope holds."""

    def _backfill_origins(self) -> None:
        """Libraries made before ``paper_sources`` existed: each scope's recorded origin becomes one."""
        ps, src = paper_scopes, paper_sources
        with self.db.write("recording paper origins") as conn:
            if conn.execute(select(src.c.paper_id).limit(1)).first():
                return
            rows = [dict(r) for r in conn.execute(
                select(ps.c.paper_id, ps.c.scope, ps.c.source, ps.c.added_at).where(ps.c.source.is_not(None))
            ).mappings()]
            insert_ignore(conn, src, rows, ["paper_id", "scope", "source"])

    # -- writes ---------------------------------------------------------------------------
    def add_scope(self, paper_id: str, scope: str, origin: str, n_chunks: int) -> None:
        """Put a stored paper into one more scope (or refresh its chunk count there)."""
        check_scope(scope)
        with self.db.write(f"adding paper {paper_id} to scope {scope!r}") as conn:
            self._require(conn, paper_id)
            self._put_scope(conn, paper_id, scope, origin, n_chunks, now())

    def add_origin(self, paper_id: str, scope: str, origin: str) -> bool:
        """Record one more file a paper in ``scope`` came from; False when it was known already."""
        with self.db.write(f"adding an origin of paper {paper_id} in scope {scope!r}") as conn:
            if not in_scope(conn, paper_id, scope):
                raise StoreError(f"paper {paper_id} is not in scope {scope!r}")
            row = {"paper_id": paper_id, "scope": scope, "source": origin, "added_at": now()}
            return bool(insert_ignore(conn, paper_sources, [row], ["paper_id", "scope", "source"]))

    def remove_origin(self, scope: str, origin: str) -> tuple[list[str], list[str]]:
        """Forget one file in ``scope``: (papers that left the scope as it was their last origin,
        papers that left the library as that was their last scope). One transaction."""
        src = paper_sources
        with self.db.write(f"removing origin {origin!r} from scope {scope!r}") as conn:
            owners = list(conn.scalars(select(src.c.paper_id).where(src.c.scope == scope, src.c.source == origin)))
            conn.execute(delete(src).where(src.c.scope == scope, src.c.source == origin))
            left, gone = [], []
            for paper_id in owners:
                if conn.execute(select(src.c.source).where(src.c.paper_id == paper_id, src.c.scope == scope).limit(1)).first():
                    continue
                left.append(paper_id)
                if self._leave_scope(conn, paper_id, scope):
                    gone.append(paper_id)
            return left, gone

    def remove_from_scope(self, paper_id: str, scope: str) -> bool:
        """Take a paper out of ``scope``; True when no other scope held it and it was deleted."""
        with self.db.write(f"removing paper {paper_id} from scope {scope!r}") as conn:
            return self._leave_scope(conn, paper_id, scope)

    def delete_scope(self, scope: str) -> list[str]:
        """Forget a scope; returns the papers no other scope held, which are deleted entirely."""
        with self.db.write(f"deleting scope {scope!r}") as conn:
            members = list(conn.scalars(select(paper_scopes.c.paper_id).where(paper_scopes.c.scope == scope)))
            conn.execute(delete(paper_scopes).where(paper_scopes.c.scope == scope))
            conn.execute(delete(paper_sources).where(paper_sources.c.scope == scope))
            kept: set[str] = set()
            for chunk in batched(members):
                kept.update(conn.scalars(select(paper_scopes.c.paper_id).where(paper_scopes.c.paper_id.in_(chunk))))
            gone = sorted(set(members) - kept)
            self._delete_papers(conn, gone)
            return gone

    # -- reads ----------------------------------------------------------------------------
    def origins_in_scope(self, scope: str) -> dict[str, list[str]]:
        """Every origin recorded in ``scope`` and the paper(s) it holds."""
        src = paper_sources
        with self.db.read(f"listing the origins of scope {scope!r}") as conn:
            out: dict[str, list[str]] = {}
            for paper_id, origin in conn.execute(select(src.c.paper_id, src.c.source).where(src.c.scope == scope)):
                out.setdefault(origin, []).append(paper_id)
            return out

    def scopes_of(self, paper_id: str) -> set[str]:
        with self.db.read(f"reading the scopes of paper {paper_id}") as conn:
            return set(conn.scalars(select(paper_scopes.c.scope).where(paper_scopes.c.paper_id == paper_id)))

    def in_scope(self, paper_id: str, scope: str) -> bool:
        with self.db.read(f"looking up paper {paper_id} in scope {scope!r}") as conn:
            return in_scope(conn, paper_id, scope)

    def scope_version(self, scopes: Sequence[str] | None = None) -> tuple[int, int, str]:
        """(papers, chunks, latest addition) of the scopes: changes whenever a paper joins or
        leaves them, so caches built from their chunks know when to rebuild."""
        query = _scope_version_query(scopes is not None)
        with self.db.read("reading the scope version") as conn:
            n, chunks, latest = conn.execute(query, {} if scopes is None else {"scopes": list(scopes)}).one()
            return int(n), int(chunks), str(latest)

    def committed_chunks(self, scopes: Sequence[str] | None = None) -> int:
        """Chunks of committed papers in the scopes (what reads can return); not the vector
        store's count, which may hold the orphans of an interrupted ingest (``maintenance``)."""
        if scopes is not None and not scopes:
            return 0
        query = select(func.coalesce(func.sum(paper_scopes.c.n_chunks), 0))
        if scopes is not None:
            query = query.where(paper_scopes.c.scope.in_(list(scopes)))
        with self.db.read("counting chunks") as conn:
            return int(conn.scalar(query) or 0)

    def chunk_ids(self, paper_ids: Sequence[str], scopes: Sequence[str] | None = None) -> dict[str, list[str]]:
        """Vector-store chunk ids of each visible paper, from its first visible scope.

        Chunk ids are (scope, paper, index) and every scope holds the same chunks, so one
        scope's ids are enough to score a paper's passages without a vector search.
        """
        with self.db.read("reading chunk ids") as conn:
            out: dict[str, list[str]] = {}
            if scopes is not None and not scopes:
                return out
            query = _chunk_ids_query(scopes is not None)
            by_scope = {} if scopes is None else {"scopes": list(scopes)}
            for chunk in batched(dict.fromkeys(paper_ids)):
                for paper_id, scope, n_chunks in conn.execute(query, {"paper_ids": chunk, **by_scope}):
                    if paper_id not in out:
                        out[paper_id] = [chunk_id(scope, paper_id, i) for i in range(n_chunks or 0)]
            return out

    # -- write steps (inside the caller's transaction) -------------------------------------
    def _put_scope(
        self, conn: Connection, paper_id: str, scope: str, origin: str | None, n_chunks: int, added: datetime
    ) -> None:
        row = {"paper_id": paper_id, "scope": scope, "source": origin, "n_chunks": n_chunks, "added_at": added}
        upsert(conn, paper_scopes, row, ["paper_id", "scope"], refresh=["n_chunks"])
        if origin:
            insert_ignore(conn, paper_sources, [{"paper_id": paper_id, "scope": scope, "source": origin, "added_at": added}],
                          ["paper_id", "scope", "source"])

    def _leave_scope(self, conn: Connection, paper_id: str, scope: str) -> bool:
        """Take a paper and its origins out of ``scope``; True when no other scope held it and
        it was deleted."""
        removed = conn.execute(
            delete(paper_scopes).where(paper_scopes.c.paper_id == paper_id, paper_scopes.c.scope == scope)
        ).rowcount
        if not removed:
            return False
        conn.execute(delete(paper_sources).where(paper_sources.c.paper_id == paper_id, paper_sources.c.scope == scope))
        if conn.execute(select(paper_scopes.c.scope).where(paper_scopes.c.paper_id == paper_id).limit(1)).first():
            return False
        self._delete_papers(conn, [paper_id])
        return True

    def _delete_papers(self, conn: Connection, paper_ids: Sequence[str]) -> None:
        """Remove papers and all that hangs on them (``removal``), noting whose 'similar' edges went."""
        self._similar_stale.update(delete_papers(conn, paper_ids, self.settings))


# Statements run on every question, built once per shape (see paper_rows.py for why).
@functools.cache
def _scope_version_query(by_scope: bool) -> Select[Any]:
    ps = paper_scopes
    query = select(func.count(), func.coalesce(func.sum(ps.c.n_chunks), 0), func.max(ps.c.added_at))
    return query.where(ps.c.scope.in_(bindparam("scopes", expanding=True))) if by_scope else query


@functools.cache
def _chunk_ids_query(by_scope: bool) -> Select[Any]:
    ps = paper_scopes
    query = select(ps.c.paper_id, ps.c.scope, ps.c.n_chunks).where(ps.c.paper_id.in_(bindparam("paper_ids", expanding=True)))
    if by_scope:
        query = query.where(ps.c.scope.in_(bindparam("scopes", expanding=True)))
    return query.order_by(ps.c.added_at, ps.c.scope)
