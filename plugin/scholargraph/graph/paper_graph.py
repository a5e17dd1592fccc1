"""``PaperGraph``: the paper knowledge graph, kept up to date on every ingest and delete.

Every write is one transaction, so a paper is in the graph whole or not at all, and the
graph row is what the rest of the engine trusts as "ingested". Every read takes the
caller's scopes: a paper is visible when it belongs to one of them, and an edge when both
of its ends are (``scopes=None`` means everything, for admin tools and tests).

The class is its roles put together, each in its own module: ``membership`` (scopes and
origins), ``paper_rows`` (reading papers), ``citation_graph`` (authors, references, edges),
``vector_tables`` (paper and chunk vectors) and ``graph_export`` (export, stats). What is
here crosses them all: opening the database, and adding or deleting a whole paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from scholargraph.errors import StoreError
from scholargraph.graph import resolve
from scholargraph.graph.citation_graph import CitationGraph, sync_cites
from scholargraph.graph.database import Database, insert_ignore
from scholargraph.graph.graph_export import GraphExports
from scholargraph.graph.graph_part import check_scope, now, paper_exists
from scholargraph.graph.membership import Membership
from scholargraph.graph.paper_rows import PaperRows
from scholargraph.graph.schema import metadata, papers
from scholargraph.graph.vector_tables import VectorTables
from scholargraph.models import Paper
from scholargraph.packed_vectors import PackedVectors
from scholargraph.settings import GraphSettings


class PaperGraph(Membership, PaperRows, CitationGraph, VectorTables, GraphExports):
    """Papers, authors, references and their edges (cites, similar, shares_author) in SQL."""

    def __init__(self, url: str, settings: GraphSettings | None = None) -> None:
        self.settings = settings or GraphSettings()
        self._similar_stale = set()
        self.db = Database(url, self.settings.busy_timeout_s, self.settings.connect_timeout_s)
        try:
            self.db.create_schema(metadata)
            self._backfill_origins()
        except StoreError:
            self.db.close()
            raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> PaperGraph:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add_paper(
        self, paper: Paper, scope: str, n_chunks: int, similar: Sequence[tuple[str, float]] = (),
        vectors: PackedVectors | None = None,
    ) -> None:
        """Store a paper with its authors, references, edges and vectors, and put it in ``scope``.

        Its references are resolved against the library, and earlier papers' references to
        it are resolved now, so ingest order does not matter. A paper already stored (same
        content, same id) only joins the scope. All of it is one transaction.
        """
        check_scope(scope)
        keys = resolve.paper_keys(paper)
        with self.db.write(f"adding paper {paper.id}") as conn:
            added = now()
            inserted = self._insert_paper(conn, paper, keys, added)
            if vectors is not None:  # also for a paper stored before these rows existed
                self._put_vectors(conn, paper.id, vectors)
            if not inserted:
                self._put_scope(conn, paper.id, scope, paper.origin, n_chunks, added)
                return
            self._link_authors(conn, paper)
            self._insert_references(conn, paper)
            citing = self._claim_references(conn, keys)
            sync_cites(conn, {paper.id} | citing)
            self._link_shared_authors(conn, paper.id)
            self._write_similar(conn, paper.id, similar)
            self._put_scope(conn, paper.id, scope, paper.origin, n_chunks, added)

    def delete_paper(self, paper_id: str) -> bool:
        """Delete a paper everywhere; references to it become unresolved (or find another match)."""
        with self.db.write(f"deleting paper {paper_id}") as conn:
            if not paper_exists(conn, paper_id):
                return False
            self._delete_papers(conn, [paper_id])
            return True

    def _insert_paper(self, conn: Connection, paper: Paper, keys: resolve.Keys, added: datetime) -> bool:
        """Insert the paper row; False when it was already there (same content)."""
        row = {
            "id": paper.id,
            "content_hash": paper.content_hash,
            "title": paper.title or "",
            "norm_title": keys.norm_title,
            "norm_main_title": keys.norm_main_title,
            **keys.block_columns(),
            "authors": list(paper.authors),
            "year": paper.year,
            "doi": keys.doi,
            "arxiv_id": keys.arxiv_id,
            "language": paper.language,
            "abstract": paper.abstract,
            "pages": paper.pages,
            "created_at": added,
        }
        return insert_ignore(conn, papers, [row], ["id"]) == 1
