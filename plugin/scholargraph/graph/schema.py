"""The graph's tables, in SQLAlchemy Core so one definition serves SQLite and PostgreSQL.

A paper is stored once (named by its content) and joins scopes (knowledge bases, chats,
user collections) through ``paper_scopes``; every read filters on that table. References
keep their parsed keys and, once resolved, the library paper they point to; ``cites``
edges are derived from them. ``similar`` and ``shares_author`` edges are symmetric and
stored once per pair with ``source < target``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    LargeBinary,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

EDGE_KINDS = ("cites", "similar", "shares_author")

# Stable constraint names, so a later migration tool can refer to them on any database.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

papers = Table(
    "papers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("content_hash", String(64), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("norm_title", String, index=True),
    Column("norm_main_title", String),  # title before its subtitle; NULL if none
    # blocking keys for fuzzy title search (keys.title_blocks): head, tail, tail of the main title
    Column("title_head", String, index=True),
    Column("title_tail", String, index=True),
    Column("main_title_tail", String, index=True),
    Column("authors", JSON, nullable=False),  # names as written, in order
    Column("year", Integer),
    Column("doi", String, index=True),  # normalise_doi
    Column("arxiv_id", String, index=True),  # normalise_arxiv_id: no version
    Column("language", String(32)),
    Column("abstract", Text),
    Column("pages", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

paper_scopes = Table(
    "paper_scopes",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(255), nullable=False),
    Column("source", Text),  # the paper's (first) origin in this scope: the file path or name it came from
    Column("n_chunks", Integer, nullable=False, default=0),
    Column("added_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("paper_id", "scope"),
    Index("ix_paper_scopes_scope_paper", "scope", "paper_id"),
)

# Every file a paper came from in a scope: the same PDF uploaded twice to one knowledge base is one
# paper with two origins, and it leaves the scope only when its last origin is removed. (Stored as
# ``paper_sources.source``: existing libraries' names; the engine calls them origins.)
paper_sources = Table(
    "paper_sources",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("scope", String(255), nullable=False),
    Column("source", String(1024), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("paper_id", "scope", "source"),
    Index("ix_paper_sources_scope_source", "scope", "source"),
)

authors = Table(
    "authors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),  # first spelling seen
    Column("norm_name", String, nullable=False, unique=True),
)

paper_authors = Table(
    "paper_authors",
    metadata,
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("author_id", Integer, ForeignKey("authors.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("paper_id", "author_id"),
    Index("ix_paper_authors_author", "author_id", "paper_id"),
)

paper_references = Table(
    "paper_references",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("raw", Text, nullable=False),
    Column("doi", String, index=True),
    Column("arxiv_id", String, index=True),
    Column("title", Text),
    Column("norm_title", String),
    Column("norm_main_title", String),
    Column("title_head", String, index=True),
    Column("title_tail", String, index=True),
    Column("main_title_tail", String, index=True),
    Column("year", Integer),
    Column("target_paper_id", String(64), ForeignKey("papers.id", ondelete="SET NULL"), index=True),
    Column("match_method", String(16)),  # doi | arxiv | title, when resolved
    Column("match_score", Float),  # 1.0 for identifiers and exact titles
)

edges = Table(
    "edges",
    metadata,
    Column("source", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("target", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("weight", Float, nullable=False),
    PrimaryKeyConstraint("source", "target", "kind"),
    CheckConstraint(f"kind IN ({', '.join(repr(k) for k in EDGE_KINDS)})", name="kind"),
    Index("ix_edges_target_kind", "target", "kind"),
)

# Each paper's own vector and its chunks' vectors, float16, per embedding model (packed_vectors.py
# says why). Scope-free like the paper: every scope holds the same chunks in the same order. Two
# tables, so that ranking hundreds of papers reads small rows, not their chunks' blobs.
def _vectors_table(name: str, *columns: Column[Any]) -> Table:
    """One row per (paper, embedding model), gone with the paper."""
    return Table(
        name,
        metadata,
        Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
        Column("model", String(255), nullable=False),
        Column("dimension", Integer, nullable=False),
        *columns,
        PrimaryKeyConstraint("paper_id", "model"),
    )


paper_vectors = _vectors_table("paper_vectors", Column("vector", LargeBinary, nullable=False))
chunk_vectors = _vectors_table(
    "chunk_vectors",
    Column("count", Integer, nullable=False),
    Column("vectors", LargeBinary, nullable=False),  # row i is chunk i
)
