"""``PaperGraph``: the paper knowledge graph, kept up to date on every ingest and delete.

Every write is one transaction, so a paper is in the graph whole or not at all, and the
graph row is what the rest of the engine trusts as "ingested". Every read takes the
caller's scopes: a paper is visible when it belongs to one of them, and an edge when both
of its ends are (``scopes=None`` means everything, for admin tools and tests).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, bindparam, delete, exists, func, literal, or_, select, true, update

from scholargraph.errors import StoreError
from scholargraph.ids import chunk_id
from scholargraph.graph import resolve
from scholargraph.graph.database import Database, batched, insert_ignore, upsert
from scholargraph.graph.walk import is_visible, neighbours, visible_ids
from scholargraph.graph.keys import normalise_author
from scholargraph.graph.schema import (
    EDGE_KINDS,
    authors,
    chunk_vectors,
    edges,
    metadata,
    paper_authors,
    paper_references,
    paper_scopes,
    paper_sources,
    paper_vectors,
    papers,
)
from scholargraph.models import Paper
from scholargraph.packed_vectors import PackedVectors, from_f16
from scholargraph.settings import GraphSettings


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _pair(a: str, b: str) -> tuple[str, str]:
    """Symmetric edges are stored once, smaller id first."""
    return (a, b) if a < b else (b, a)


def _check_kinds(kinds: Iterable[str] | None) -> list[str]:
    wanted = list(EDGE_KINDS if kinds is None else kinds)
    unknown = set(wanted) - set(EDGE_KINDS)
    if unknown:
        raise ValueError(f"unknown edge kind(s) {sorted(unknown)}; use {list(EDGE_KINDS)}")
    return wanted


class PaperGraph:
    """Papers, authors, references and their edges (cites, similar, shares_author) in SQL."""

    def __init__(self, url: str, settings: GraphSettings | None = None) -> None:
        self.settings = settings or GraphSettings()
        self._similar_stale: set[str] = set()
        self.db = Database(url)
        try:
            self.db.create_schema(metadata)
            self._backfill_sources()
        except StoreError:
            self.db.close()
            raise

    def _backfill_sources(self) -> None:
        """Libraries made before ``paper_sources`` existed: each scope's recorded source becomes one."""
        ps, src = paper_scopes, paper_sources
        with self.db.write("recording paper sources") as conn:
            if conn.execute(select(src.c.paper_id).limit(1)).first():
                return
            rows = [dict(r) for r in conn.execute(
                select(ps.c.paper_id, ps.c.scope, ps.c.source, ps.c.added_at).where(ps.c.source.is_not(None))
            ).mappings()]
            insert_ignore(conn, src, rows, ["paper_id", "scope", "source"])

    @property
    def url(self) -> str:
        """The database URL without its password, fit for messages and stats."""
        return self.db.display_url

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "PaperGraph":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writes ---------------------------------------------------------------------------
    def add_paper(
        self, paper: Paper, scope: str, n_chunks: int, similar: Sequence[tuple[str, float]] = (),
        vectors: PackedVectors | None = None,
    ) -> None:
        """Store a paper with its authors, references, edges and vectors, and put it in ``scope``.

        Its references are resolved against the library, and earlier papers' references to
        it are resolved now, so ingest order does not matter. A paper already stored (same
        content, same id) only joins the scope. All of it is one transaction.
        """
        _check_scope(scope)
        keys = resolve.paper_keys(paper)
        with self.db.write(f"adding paper {paper.id}") as conn:
            now = _now()
            inserted = self._insert_paper(conn, paper, keys, now)
            if vectors is not None:  # also for a paper stored before these rows existed
                self._put_vectors(conn, paper.id, vectors)
            if not inserted:
                self._put_scope(conn, paper.id, scope, paper.source, n_chunks, now)
                return
            self._link_authors(conn, paper)
            self._insert_references(conn, paper)
            citing = self._claim_references(conn, keys)
            _sync_cites(conn, {paper.id} | citing)
            self._link_shared_authors(conn, paper.id)
            self._write_similar(conn, paper.id, similar)
            self._put_scope(conn, paper.id, scope, paper.source, n_chunks, now)

    def chunk_matrices(self, paper_ids: Sequence[str], model: str) -> dict[str, np.ndarray]:
        """Each paper's chunk vectors by ``model``, row i being chunk i (papers without a row are left out)."""
        cv = chunk_vectors
        out: dict[str, np.ndarray] = {}
        with self.db.read("reading chunk vectors") as conn:
            query = _chunk_matrices_query()
            for chunk in batched(dict.fromkeys(paper_ids)):
                for paper_id, count, dimension, data in conn.execute(query, {"model": model, "paper_ids": chunk}):
                    out[paper_id] = from_f16(bytes(data), count, dimension)
        return out

    def paper_matrix(self, paper_ids: Sequence[str], model: str) -> tuple[list[str], np.ndarray]:
        """The papers' own vectors by ``model``, one row each, for ranking many papers at once."""
        pv = paper_vectors
        ids: list[str] = []
        blobs: list[bytes] = []
        dimension = 0
        with self.db.read("reading paper vectors") as conn:
            for chunk in batched(dict.fromkeys(paper_ids)):
                query = select(pv.c.paper_id, pv.c.dimension, pv.c.vector).where(
                    pv.c.model == model, pv.c.paper_id.in_(chunk))
                for paper_id, dim, vector in conn.execute(query):
                    ids.append(paper_id)
                    blobs.append(vector)
                    dimension = dim
        return ids, from_f16(b"".join(blobs), len(ids), dimension)

    def papers_without_vectors(self, model: str) -> list[str]:
        """Papers missing their vectors for ``model`` (stored by an older version, or another model)."""
        pv, cv = paper_vectors, chunk_vectors
        has_row = (exists().where(pv.c.paper_id == papers.c.id, pv.c.model == model)
                   & exists().where(cv.c.paper_id == papers.c.id, cv.c.model == model))
        with self.db.read("listing papers without vectors") as conn:
            return list(conn.scalars(select(papers.c.id).where(~has_row).order_by(papers.c.id)))

    def put_vectors(self, paper_id: str, vectors: PackedVectors) -> None:
        """Store (or replace) a stored paper's vectors for one model."""
        with self.db.write(f"storing the vectors of paper {paper_id}") as conn:
            self._require(conn, paper_id)
            self._put_vectors(conn, paper_id, vectors)

    def _put_vectors(self, conn: Connection, paper_id: str, vectors: PackedVectors) -> None:
        keys = {"paper_id": paper_id, "model": vectors.model, "dimension": vectors.dimension}
        upsert(conn, paper_vectors, {**keys, "vector": vectors.paper}, ["paper_id", "model"])
        upsert(conn, chunk_vectors, {**keys, "count": vectors.count, "vectors": vectors.chunks}, ["paper_id", "model"])

    def add_scope(self, paper_id: str, scope: str, source: str, n_chunks: int) -> None:
        """Put a stored paper into one more scope (or refresh its chunk count there)."""
        _check_scope(scope)
        with self.db.write(f"adding paper {paper_id} to scope {scope!r}") as conn:
            self._require(conn, paper_id)
            self._put_scope(conn, paper_id, scope, source, n_chunks, _now())

    def add_source(self, paper_id: str, scope: str, source: str) -> bool:
        """Record one more file a paper in ``scope`` came from; False when it was known already."""
        with self.db.write(f"adding a source of paper {paper_id} in scope {scope!r}") as conn:
            if not _in_scope(conn, paper_id, scope):
                raise StoreError(f"paper {paper_id} is not in scope {scope!r}")
            row = {"paper_id": paper_id, "scope": scope, "source": source, "added_at": _now()}
            return bool(insert_ignore(conn, paper_sources, [row], ["paper_id", "scope", "source"]))

    def remove_source(self, scope: str, source: str) -> tuple[list[str], list[str]]:
        """Forget one file in ``scope``: (papers that left the scope as it was their last source,
        papers that left the library as that was their last scope). One transaction."""
        src = paper_sources
        with self.db.write(f"removing source {source!r} from scope {scope!r}") as conn:
            owners = list(conn.scalars(select(src.c.paper_id).where(src.c.scope == scope, src.c.source == source)))
            conn.execute(delete(src).where(src.c.scope == scope, src.c.source == source))
            left, gone = [], []
            for paper_id in owners:
                if conn.execute(select(src.c.source).where(src.c.paper_id == paper_id, src.c.scope == scope).limit(1)).first():
                    continue
                left.append(paper_id)
                if self._leave_scope(conn, paper_id, scope):
                    gone.append(paper_id)
            return left, gone

    def sources_in_scope(self, scope: str) -> dict[str, list[str]]:
        """Every source recorded in ``scope`` and the paper(s) it holds."""
        src = paper_sources
        with self.db.read(f"listing the sources of scope {scope!r}") as conn:
            out: dict[str, list[str]] = {}
            for paper_id, source in conn.execute(select(src.c.paper_id, src.c.source).where(src.c.scope == scope)):
                out.setdefault(source, []).append(paper_id)
            return out

    def set_similar(self, paper_id: str, similar: Sequence[tuple[str, float]]) -> None:
        """Replace every 'similar' edge touching ``paper_id`` with ``similar`` (id, cosine)."""
        with self.db.write(f"refreshing similar papers of {paper_id}") as conn:
            self._require(conn, paper_id)
            conn.execute(
                delete(edges).where(
                    edges.c.kind == "similar", or_(edges.c.source == paper_id, edges.c.target == paper_id)
                )
            )
            self._write_similar(conn, paper_id, similar)

    def take_similar_stale(self) -> set[str]:
        """Papers that lost a 'similar' edge to a deleted paper since the last call: their
        places among each other's nearest papers may now go to others (``graph.similar.refresh``)."""
        stale, self._similar_stale = self._similar_stale, set()
        return stale

    def prune_similar(self, paper_id: str, keep: Iterable[str]) -> int:
        """Drop the 'similar' edges of ``paper_id`` to papers outside ``keep``; returns how many went."""
        keep = set(keep)
        with self.db.write(f"pruning similar papers of {paper_id}") as conn:
            rows = conn.execute(select(edges.c.source, edges.c.target).where(
                edges.c.kind == "similar", or_(edges.c.source == paper_id, edges.c.target == paper_id))).all()
            gone = [(a, b) for a, b in rows if (b if a == paper_id else a) not in keep]
            for a, b in gone:
                conn.execute(delete(edges).where(edges.c.kind == "similar", edges.c.source == a, edges.c.target == b))
            return len(gone)

    def paper_vector_sample(self, model: str, size: int) -> np.ndarray:
        """Up to ``size`` paper vectors by ``model``, drawn at random: the library's similarity
        distribution, estimated without reading every paper."""
        pv = paper_vectors
        with self.db.read("sampling paper vectors") as conn:
            rows = conn.execute(select(pv.c.dimension, pv.c.vector).where(pv.c.model == model)
                                .order_by(func.random()).limit(size)).all()
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return from_f16(b"".join(bytes(v) for _, v in rows), len(rows), rows[0][0])

    def remove_from_scope(self, paper_id: str, scope: str) -> bool:
        """Take a paper out of ``scope``; True when no other scope held it and it was deleted."""
        with self.db.write(f"removing paper {paper_id} from scope {scope!r}") as conn:
            return self._leave_scope(conn, paper_id, scope)

    def delete_paper(self, paper_id: str) -> bool:
        """Delete a paper everywhere; references to it become unresolved (or find another match)."""
        with self.db.write(f"deleting paper {paper_id}") as conn:
            if not _exists(conn, paper_id):
                return False
            self._delete_papers(conn, [paper_id])
            return True

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
    def has_paper(self, paper_id: str) -> bool:
        with self.db.read(f"looking up paper {paper_id}") as conn:
            return _exists(conn, paper_id)

    def scopes_of(self, paper_id: str) -> set[str]:
        with self.db.read(f"reading the scopes of paper {paper_id}") as conn:
            return set(conn.scalars(select(paper_scopes.c.scope).where(paper_scopes.c.paper_id == paper_id)))

    def in_scope(self, paper_id: str, scope: str) -> bool:
        with self.db.read(f"looking up paper {paper_id} in scope {scope!r}") as conn:
            return _in_scope(conn, paper_id, scope)

    def scope_version(self, scopes: Sequence[str] | None = None) -> tuple[int, int, str]:
        """(papers, chunks, latest addition) of the scopes: changes whenever a paper joins or
        leaves them, so caches built from their chunks know when to rebuild."""
        query = _scope_version_query(scopes is not None)
        with self.db.read("reading the scope version") as conn:
            n, chunks, latest = conn.execute(query, {} if scopes is None else {"scopes": list(scopes)}).one()
            return int(n), int(chunks), str(latest)

    def papers(self, scopes: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Visible papers, oldest first: metadata, ``source`` and ``chunks`` from their first
        visible scope, and ``scopes`` (only the visible ones: scopes are permissions)."""
        with self.db.read("listing papers") as conn:
            return _paper_rows(conn, scopes)

    def get_paper(self, paper_id: str, scopes: Sequence[str] | None = None) -> dict[str, Any] | None:
        """One paper with its abstract, or None when it is absent or not visible in ``scopes``."""
        with self.db.read(f"reading paper {paper_id}") as conn:
            rows = _paper_rows(conn, scopes, paper_ids=[paper_id], detail=True)
            return rows[0] if rows else None

    def papers_by_ids(self, paper_ids: Sequence[str], scopes: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
        """Visible papers among ``paper_ids``, by id (as ``papers`` lists them); for search results."""
        with self.db.read("reading papers") as conn:
            found: dict[str, dict[str, Any]] = {}
            for chunk in batched(dict.fromkeys(paper_ids)):
                found.update((p["id"], p) for p in _paper_rows(conn, scopes, paper_ids=chunk))
            return found

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

    def references_of(self, paper_id: str, scopes: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """A paper's reference list in order, with ``target_paper_id`` where it was resolved.

        With ``scopes``, targets outside them are reported unresolved, and an invisible
        paper has no references.
        """
        r = paper_references
        with self.db.read(f"reading the references of paper {paper_id}") as conn:
            if scopes is not None and not _visible(conn, paper_id, scopes):
                return []
            visible = None if scopes is None else set(_visible_among(conn, _targets(conn, paper_id), scopes))
            rows = conn.execute(select(r).where(r.c.paper_id == paper_id).order_by(r.c.position)).mappings()
            out = []
            for row in rows:
                item = {k: row[k] for k in ("id", "position", "raw", "doi", "arxiv_id", "title", "year")}
                target = row["target_paper_id"]
                shown = target is not None and (visible is None or target in visible)
                item["target_paper_id"] = target if shown else None
                item["match_method"] = row["match_method"] if shown else None
                item["match_score"] = row["match_score"] if shown else None
                out.append(item)
            return out

    def edges(self, scopes: Sequence[str] | None = None, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Edges with both ends visible: source, target, kind, weight (cites: citing -> cited)."""
        with self.db.read("listing edges") as conn:
            return _edge_rows(conn, scopes, _check_kinds(kinds))

    def export(self, scopes: Sequence[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        """The visible graph as JSON-ready ``{"nodes": [...], "edges": [...]}``."""
        with self.db.read("exporting the graph") as conn:
            return {"nodes": _paper_rows(conn, scopes), "edges": _edge_rows(conn, scopes, list(EDGE_KINDS))}

    def neighbours(
        self,
        paper_ids: Sequence[str],
        scopes: Sequence[str] | None,
        hops: int = 1,
        kinds: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Papers around ``paper_ids`` for graph expansion (see ``scholargraph.graph.walk``).

        ``kinds`` filters *relations*: 'cites' (the hit cites the neighbour), 'cited_by' (the
        neighbour cites the hit), 'similar', 'shares_author'; None = all. Items carry
        ``paper_id``, ``relation``, ``via``, ``hop``, ``weight`` and all ``relations`` at that hop.
        """
        with self.db.read("expanding the graph") as conn:
            return neighbours(conn, list(paper_ids), scopes, hops, kinds)

    def stats(self, scopes: Sequence[str] | None = None) -> dict[str, Any]:
        """Counts of visible papers, their authors and references, resolved ones, edges by kind."""
        pa, r, ps = paper_authors, paper_references, paper_scopes
        with self.db.read("counting the graph") as conn:
            if scopes is not None and not scopes:
                return {"papers": 0, "scopes": 0, "authors": 0, "references": 0,
                        "resolved_references": 0, "edges": dict.fromkeys(EDGE_KINDS, 0)}

            def within(column: Any) -> Any:  # the column the query is driven by
                return true() if scopes is None else column.in_(visible_ids(scopes))

            def also(column: Any) -> Any:  # a second paper column, checked per row
                return true() if scopes is None else is_visible(column, scopes)

            scope_filter = true() if scopes is None else ps.c.scope.in_(list(scopes))
            resolved = r.c.target_paper_id.is_not(None)
            counts = {
                "papers": conn.scalar(select(func.count(func.distinct(ps.c.paper_id))).where(scope_filter)),
                "scopes": conn.scalar(select(func.count(func.distinct(ps.c.scope))).where(scope_filter)),
                "authors": conn.scalar(select(func.count(func.distinct(pa.c.author_id))).where(within(pa.c.paper_id))),
                "references": conn.scalar(select(func.count()).select_from(r).where(within(r.c.paper_id))),
                "resolved_references": conn.scalar(
                    select(func.count()).select_from(r).where(resolved, within(r.c.paper_id), also(r.c.target_paper_id))
                ),
            }
            by_kind = select(edges.c.kind, func.count()).where(within(edges.c.source), also(edges.c.target))
            counts["edges"] = dict.fromkeys(EDGE_KINDS, 0) | dict(conn.execute(by_kind.group_by(edges.c.kind)).all())
            return counts

    def to_networkx(self, scopes: Sequence[str] | None = None) -> Any:
        """The visible graph as a ``networkx.MultiDiGraph`` for analytics (PageRank, components).

        Edge keys are kinds; symmetric kinds (similar, shares_author) appear in both directions.
        """
        import networkx as nx

        data = self.export(scopes)
        graph = nx.MultiDiGraph()
        for node in data["nodes"]:
            graph.add_node(node["id"], **{k: v for k, v in node.items() if k != "id"})
        for edge in data["edges"]:
            graph.add_edge(edge["source"], edge["target"], key=edge["kind"], weight=edge["weight"])
            if edge["kind"] != "cites":
                graph.add_edge(edge["target"], edge["source"], key=edge["kind"], weight=edge["weight"])
        return graph

    # -- write steps (all inside the caller's transaction) ------------------------------
    def _require(self, conn: Connection, paper_id: str) -> None:
        if not _exists(conn, paper_id):
            raise StoreError(f"graph database {self.url}: no paper {paper_id}; ingest it first")

    def _insert_paper(self, conn: Connection, paper: Paper, keys: resolve.Keys, now: datetime) -> bool:
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
            "created_at": now,
        }
        return insert_ignore(conn, papers, [row], ["id"]) == 1

    def _link_authors(self, conn: Connection, paper: Paper) -> None:
        names: dict[str, str] = {}
        for name in paper.authors:
            norm = normalise_author(name)
            if norm and norm not in names:
                names[norm] = name.strip()
        if not names:
            return
        insert_ignore(conn, authors, [{"name": n, "norm_name": k} for k, n in names.items()], ["norm_name"])
        ids = dict(conn.execute(select(authors.c.norm_name, authors.c.id).where(authors.c.norm_name.in_(list(names)))).all())
        rows = [{"paper_id": paper.id, "author_id": ids[norm], "position": i} for i, norm in enumerate(names)]
        conn.execute(paper_authors.insert(), rows)

    def _insert_references(self, conn: Connection, paper: Paper) -> None:
        """Store the reference list, each resolved against the library where possible."""
        if not paper.references:
            return
        keys = [resolve.reference_keys(paper.id, ref) for ref in paper.references]
        matches = resolve.resolve_references(conn, keys, self.settings.title_match_threshold)
        rows = []
        for position, (ref, key, match) in enumerate(zip(paper.references, keys, matches)):
            rows.append({
                "paper_id": paper.id,
                "position": position,
                "raw": ref.raw or "",
                "doi": key.doi,
                "arxiv_id": key.arxiv_id,
                "title": ref.title,
                "norm_title": key.norm_title,
                "norm_main_title": key.norm_main_title,
                **key.block_columns(),
                "year": ref.year,
                "target_paper_id": match.paper_id if match else None,
                "match_method": match.method if match else None,
                "match_score": match.score if match else None,
            })
        conn.execute(paper_references.insert(), rows)

    def _claim_references(self, conn: Connection, keys: resolve.Keys) -> set[str]:
        """Point other papers' references at the new paper where it is their best match;
        returns the citing papers whose edges must be rebuilt."""
        matches = resolve.find_citing_references(conn, keys, self.settings.title_match_threshold)
        return _set_targets(conn, matches)

    def _link_shared_authors(self, conn: Connection, paper_id: str) -> None:
        pa = paper_authors
        mine = select(pa.c.author_id).where(pa.c.paper_id == paper_id)
        shared = (
            select(pa.c.paper_id, func.count(func.distinct(pa.c.author_id)))
            .where(pa.c.author_id.in_(mine), pa.c.paper_id != paper_id)
            .group_by(pa.c.paper_id)
        )
        rows = []
        for other, count in conn.execute(shared):
            source, target = _pair(paper_id, other)
            rows.append({"source": source, "target": target, "kind": "shares_author", "weight": float(count)})
        if rows:  # a new paper has no edges yet: plain inserts
            conn.execute(edges.insert(), rows)

    def _write_similar(self, conn: Connection, paper_id: str, similar: Sequence[tuple[str, float]]) -> None:
        best: dict[str, float] = {}
        for other, score in similar:
            if other != paper_id:
                best[other] = max(float(score), best.get(other, float("-inf")))
        present: set[str] = set()
        for chunk in batched(best):
            present.update(conn.scalars(select(papers.c.id).where(papers.c.id.in_(chunk))))
        for other in sorted(present):
            source, target = _pair(paper_id, other)
            row = {"source": source, "target": target, "kind": "similar", "weight": best[other]}
            upsert(conn, edges, row, ["source", "target", "kind"], refresh=["weight"])

    def _put_scope(
        self, conn: Connection, paper_id: str, scope: str, source: str | None, n_chunks: int, now: datetime
    ) -> None:
        row = {"paper_id": paper_id, "scope": scope, "source": source, "n_chunks": n_chunks, "added_at": now}
        upsert(conn, paper_scopes, row, ["paper_id", "scope"], refresh=["n_chunks"])
        if source:
            insert_ignore(conn, paper_sources, [{"paper_id": paper_id, "scope": scope, "source": source, "added_at": now}],
                          ["paper_id", "scope", "source"])

    def _leave_scope(self, conn: Connection, paper_id: str, scope: str) -> bool:
        """Take a paper and its sources out of ``scope``; True when no other scope held it and
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
        """Remove papers and everything hanging on them; re-resolve references that cited them."""
        if not paper_ids:
            return
        r, pa = paper_references, paper_authors
        ids = set(paper_ids)
        orphaned: list[resolve.Keys] = []
        author_ids: set[int] = set()
        for chunk in batched(ids):
            cited = select(r).where(r.c.target_paper_id.in_(chunk))
            for row in conn.execute(cited).mappings():
                if row["paper_id"] not in ids:
                    orphaned.append(resolve.Keys(
                        owner=row["paper_id"], doi=row["doi"], arxiv_id=row["arxiv_id"],
                        norm_title=row["norm_title"], norm_main_title=row["norm_main_title"],
                        year=row["year"], ref_id=row["id"],
                    ))
            author_ids.update(conn.scalars(select(pa.c.author_id).where(pa.c.paper_id.in_(chunk))))
            conn.execute(
                update(r).where(r.c.target_paper_id.in_(chunk)).values(target_paper_id=None, match_method=None, match_score=None)
            )
            for a, b in conn.execute(select(edges.c.source, edges.c.target).where(
                    edges.c.kind == "similar", or_(edges.c.source.in_(chunk), edges.c.target.in_(chunk)))):
                self._similar_stale.update({a, b} - ids)
            conn.execute(delete(edges).where(or_(edges.c.source.in_(chunk), edges.c.target.in_(chunk))))
            conn.execute(delete(r).where(r.c.paper_id.in_(chunk)))
            conn.execute(delete(pa).where(pa.c.paper_id.in_(chunk)))
            conn.execute(delete(paper_scopes).where(paper_scopes.c.paper_id.in_(chunk)))
            conn.execute(delete(paper_sources).where(paper_sources.c.paper_id.in_(chunk)))
            conn.execute(delete(paper_vectors).where(paper_vectors.c.paper_id.in_(chunk)))
            conn.execute(delete(chunk_vectors).where(chunk_vectors.c.paper_id.in_(chunk)))
            conn.execute(delete(papers).where(papers.c.id.in_(chunk)))
        for chunk in batched(author_ids):
            linked = exists().where(pa.c.author_id == authors.c.id)
            conn.execute(delete(authors).where(authors.c.id.in_(chunk), ~linked))
        if orphaned:
            # a duplicate (say, the preprint of a deleted journal version) may be the next best match
            matches = resolve.resolve_references(conn, orphaned, self.settings.title_match_threshold)
            found = {key.ref_id: match for key, match in zip(orphaned, matches) if match and key.ref_id is not None}
            _set_targets(conn, found)
            _sync_cites(conn, {key.owner for key in orphaned})


# -- helpers shared by reads and writes ---------------------------------------------------
def _check_scope(scope: str) -> None:
    if not scope or not isinstance(scope, str):
        raise ValueError("a scope name is required (a knowledge base, chat or collection id)")


def _exists(conn: Connection, paper_id: str) -> bool:
    return conn.execute(select(papers.c.id).where(papers.c.id == paper_id)).first() is not None


def _in_scope(conn: Connection, paper_id: str, scope: str) -> bool:
    ps = paper_scopes
    return conn.execute(select(ps.c.paper_id).where(ps.c.paper_id == paper_id, ps.c.scope == scope)).first() is not None


def _visible(conn: Connection, paper_id: str, scopes: Sequence[str]) -> bool:
    return bool(_visible_among(conn, [paper_id], scopes))


def _visible_among(conn: Connection, paper_ids: Iterable[str], scopes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    if not scopes:
        return found
    for chunk in batched(set(paper_ids)):
        query = select(paper_scopes.c.paper_id).where(
            paper_scopes.c.paper_id.in_(chunk), paper_scopes.c.scope.in_(list(scopes))
        )
        found.update(conn.scalars(query))
    return found


def _targets(conn: Connection, paper_id: str) -> set[str]:
    r = paper_references
    query = select(r.c.target_paper_id).where(r.c.paper_id == paper_id, r.c.target_paper_id.is_not(None))
    return set(conn.scalars(query))


def _set_targets(conn: Connection, matches: dict[int, resolve.Match]) -> set[str]:
    """Write resolved targets onto stored references; returns their citing papers."""
    if not matches:
        return set()
    r = paper_references
    statement = (
        update(r)
        .where(r.c.id == bindparam("ref_id"))
        .values(target_paper_id=bindparam("target"), match_method=bindparam("method"), match_score=bindparam("score"))
    )
    conn.execute(
        statement,
        [{"ref_id": ref_id, "target": m.paper_id, "method": m.method, "score": m.score} for ref_id, m in matches.items()],
    )
    citing: set[str] = set()
    for chunk in batched(matches):
        citing.update(conn.scalars(select(r.c.paper_id).where(r.c.id.in_(chunk))))
    return citing


def _sync_cites(conn: Connection, citing: Iterable[str]) -> None:
    """Rebuild the 'cites' edges of these papers from their resolved references."""
    r = paper_references
    for chunk in batched(sorted(citing)):
        conn.execute(delete(edges).where(edges.c.kind == "cites", edges.c.source.in_(chunk)))
        derived = (
            select(r.c.paper_id, r.c.target_paper_id, literal("cites"), literal(1.0))
            .where(r.c.paper_id.in_(chunk), r.c.target_paper_id.is_not(None), r.c.target_paper_id != r.c.paper_id)
            .distinct()
        )
        conn.execute(edges.insert().from_select(["source", "target", "kind", "weight"], derived))


# Statements the search path runs on every question, built once per shape. Their IN lists are
# expanding bind parameters, so each call reuses the compiled statement; building one with
# ``in_(list)`` on every call cost more CPU than running it (SQLAlchemy's coercions).
@functools.cache
def _paper_rows_query(by_scope: bool, by_id: bool) -> Select:
    p, ps = papers, paper_scopes
    query = select(p, ps.c.scope, ps.c.source, ps.c.n_chunks).join(ps, ps.c.paper_id == p.c.id)
    if by_scope:
        query = query.where(ps.c.scope.in_(bindparam("scopes", expanding=True)))
    if by_id:
        query = query.where(p.c.id.in_(bindparam("paper_ids", expanding=True)))
    return query.order_by(p.c.created_at, p.c.id, ps.c.added_at, ps.c.scope)


@functools.cache
def _scope_version_query(by_scope: bool) -> Select:
    ps = paper_scopes
    query = select(func.count(), func.coalesce(func.sum(ps.c.n_chunks), 0), func.max(ps.c.added_at))
    return query.where(ps.c.scope.in_(bindparam("scopes", expanding=True))) if by_scope else query


@functools.cache
def _chunk_ids_query(by_scope: bool) -> Select:
    ps = paper_scopes
    query = select(ps.c.paper_id, ps.c.scope, ps.c.n_chunks).where(ps.c.paper_id.in_(bindparam("paper_ids", expanding=True)))
    if by_scope:
        query = query.where(ps.c.scope.in_(bindparam("scopes", expanding=True)))
    return query.order_by(ps.c.added_at, ps.c.scope)


@functools.cache
def _chunk_matrices_query() -> Select:
    cv = chunk_vectors
    return select(cv.c.paper_id, cv.c.count, cv.c.dimension, cv.c.vectors).where(
        cv.c.model == bindparam("model"), cv.c.paper_id.in_(bindparam("paper_ids", expanding=True)))


def _paper_rows(
    conn: Connection,
    scopes: Sequence[str] | None,
    paper_ids: Sequence[str] | None = None,
    detail: bool = False,
) -> list[dict[str, Any]]:
    """Papers with their visible scope rows, one query; the first scope row gives source and chunks.

    ``paper_ids`` must fit one IN list (callers batch); ``detail`` adds abstract and content hash.
    """
    if scopes is not None and not scopes:
        return []
    params: dict[str, list[str]] = {}
    if scopes is not None:
        params["scopes"] = list(scopes)
    if paper_ids is not None:
        params["paper_ids"] = list(paper_ids)
    out: dict[str, dict[str, Any]] = {}
    for row in conn.execute(_paper_rows_query(scopes is not None, paper_ids is not None), params).mappings():
        item = out.get(row["id"])
        if item is None:
            item = out[row["id"]] = {
                "id": row["id"],
                "title": row["title"],
                "authors": list(row["authors"] or []),
                "year": row["year"],
                "doi": row["doi"],
                "arxiv_id": row["arxiv_id"],
                "language": row["language"],
                "pages": row["pages"],
                "source": row["source"],
                "chunks": row["n_chunks"],
                "scopes": [],
            }
            if detail:
                item["abstract"] = row["abstract"]
                item["content_hash"] = row["content_hash"]
        item["scopes"].append(row["scope"])
    for item in out.values():
        item["scopes"].sort()
    return list(out.values())


def _edge_rows(conn: Connection, scopes: Sequence[str] | None, kinds: list[str]) -> list[dict[str, Any]]:
    if (scopes is not None and not scopes) or not kinds:
        return []
    query = select(edges.c.source, edges.c.target, edges.c.kind, edges.c.weight).where(edges.c.kind.in_(kinds))
    if scopes is not None:
        query = query.where(edges.c.source.in_(visible_ids(scopes)), is_visible(edges.c.target, scopes))
    query = query.order_by(edges.c.kind, edges.c.source, edges.c.target)
    return [dict(row) for row in conn.execute(query).mappings()]
