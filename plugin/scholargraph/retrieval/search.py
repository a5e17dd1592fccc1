"""Question -> passages: dense vectors, optional BM25 fused in (``fusion``), scope-filtered.

Hits are checked against the graph, the commit record: a passage whose paper is not (or no
longer) visible in the asked scopes is never returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from scholargraph.chroma_store import ChunkHit
from scholargraph.language import detect_language, script_family
from scholargraph.retrieval.fusion import Relevance, min_max, reciprocal_rank_fusion
from scholargraph.retrieval.keyword import KeywordIndex, KeywordIndexCache, PaperNames
from scholargraph.retrieval.neighbours import best_passages, expand
from scholargraph.retrieval.ports import ChunkReads, Embedder, PaperReads, PaperRow
from scholargraph.retrieval.results import Passage, SearchResult
from scholargraph.settings import RetrievalSettings

ScopeKey = tuple[tuple[str, ...] | None, Hashable]  # (sorted scopes or None = all, scope_version)


def diverse_hits(ranked: list[tuple[float, ChunkHit]], k: int, floor: float, per_paper: int) -> list[ChunkHit]:
    """The ``k`` hits, best first, spread over the papers that answer the question.

    A paper joins only when its best passage scores at least ``floor`` x the top one (a
    relevance floor, so off-topic papers never fill a slot). While other admitted papers have
    passages, one paper holds at most ``per_paper`` slots; the slots nobody else can use go
    back to it, so a question about one paper still takes all its passages from that paper.
    """
    if not ranked:
        return []
    top = ranked[0][0]
    admitted: set[str] = set()
    for score, hit in ranked:
        if hit.paper_id not in admitted and score >= floor * top:
            admitted.add(hit.paper_id)
    eligible = [hit for _, hit in ranked if hit.paper_id in admitted]
    chosen: list[ChunkHit] = []
    count: dict[str, int] = {}
    for hit in eligible:
        if len(chosen) < k and count.get(hit.paper_id, 0) < per_paper:
            chosen.append(hit)
            count[hit.paper_id] = count.get(hit.paper_id, 0) + 1
    taken = {h.id for h in chosen}
    chosen += [h for h in eligible if h.id not in taken][: k - len(chosen)]
    order = {h.id: i for i, h in enumerate(eligible)}
    return sorted(chosen, key=lambda h: order[h.id])


def quoted_paper(passages: list[ChunkHit], relevance: Relevance, ratio: float) -> str | None:
    """The paper of the passage the question quotes, if one passage stands out from all others.

    A pasted abstract or paragraph scores near 1 against its own passage and far lower against
    everything else, that paper's other passages included (0.37-0.56 of it for the shared
    papers' abstracts; ordinary questions, whose best passages answer rather than copy them,
    keep a second passage within 0.79 of the first). Such a question is about that paper as a
    whole (``expand``: its citations are context). ``ratio`` 0 turns this off.
    """
    if ratio <= 0.0:
        return None
    scored = {h.id: (relevance.score(h.id, h.paper_id, h.score), h.paper_id) for h in passages}
    ranked = sorted(scored.values(), key=lambda pair: pair[0], reverse=True)
    if len(ranked) < 2 or ranked[0][0] <= 0.0:
        return None
    return ranked[0][1] if ranked[1][0] < ratio * ranked[0][0] else None


class ScopePapers:
    """Paper metadata of one scope set at one ``scope_version``, read from the graph once per paper.

    A search needs papers for its candidates (the hits, and the keyword matches' languages) and
    for the neighbours it reaches; each is one batched read of the papers not yet known, and the
    passages carry what was read, so nothing downstream looks a paper up again. Each SQL read
    cost ~1 ms of CPU, most of it SQLAlchemy building the statement, which capped the service
    near 70 requests/s. Paper rows never change once stored, and a paper joining or leaving the
    scopes changes their version, so the cache is dropped then. Papers not visible are
    remembered too (as absent).
    """

    def __init__(self, graph: PaperReads, scopes: list[str] | None) -> None:
        self.graph = graph
        self.scopes = scopes
        self._known: dict[str, PaperRow | None] = {}

    def get(self, paper_ids: Iterable[str]) -> dict[str, PaperRow]:
        """The visible papers among ``paper_ids``, by id, as ``PaperReads.papers_by_ids`` gives them."""
        ids = list(dict.fromkeys(paper_ids))
        missing = [pid for pid in ids if pid not in self._known]
        if missing:
            found = self.graph.papers_by_ids(sorted(missing), self.scopes)
            self._known.update({pid: found.get(pid) for pid in missing})
        return {pid: paper for pid in ids if (paper := self._known.get(pid)) is not None}


def _scope_key(scopes: list[str] | None, version: Hashable) -> ScopeKey:
    return (tuple(sorted(scopes)) if scopes is not None else None, version)


class Searcher:
    """Search over one library's vectors and graph; keeps the BM25 indexes, paper names and paper
    metadata warm between questions (each keyed by the scopes' ``scope_version``).

    ``settings`` is read on every question (a caller may swap the library's settings between
    questions, as the retrieval evaluation does for each fusion)."""

    def __init__(self, embedder: Embedder, vectors: ChunkReads, graph: PaperReads,
                 settings: Callable[[], RetrievalSettings]) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.graph = graph
        self.settings = settings
        self.keyword_cache = KeywordIndexCache()
        self._names: dict[ScopeKey, PaperNames] = {}
        self._papers: dict[ScopeKey, ScopePapers] = {}

    def search(
        self,
        question: str,
        scopes: list[str] | None = None,
        k: int | None = None,
        hops: int | None = None,
        hybrid: bool | None = None,
        neighbour_budget: int | None = None,
        task: str = "retrieve",
        hit_floor: float | None = None,
        neighbour_floor: float | None = None,
        qvec: np.ndarray | None = None,
    ) -> SearchResult:
        """Hits, then the graph neighbours that answer the question as well (see ``retrieval`` settings).

        ``qvec``: the question's vector for ``task``, when the caller embedded it already.

        ``hit_floor``, ``neighbour_floor``: override the settings; 0 keeps every ranked passage
        (for ranking evaluations, which score the order, not the context) or fills the
        neighbour budget (to see the whole neighbourhood).
        """
        cfg = self.settings()
        k = cfg.top_k if k is None else k
        hops = cfg.hops if hops is None else hops
        hybrid = cfg.hybrid if hybrid is None else hybrid
        budget = cfg.neighbour_budget if neighbour_budget is None else neighbour_budget
        hit_floor = cfg.hit_floor if hit_floor is None else hit_floor
        neighbour_floor = cfg.neighbour_floor if neighbour_floor is None else neighbour_floor
        timings: dict[str, float] = {}
        language = detect_language(question)
        version = self.graph.scope_version(scopes)
        papers = self._scope_papers(scopes, version)

        t0 = time.perf_counter()
        if qvec is None:
            qvec = self.embedder.embed_queries([question], task=task)[0]
        t1 = time.perf_counter()
        timings["embed"] = (t1 - t0) * 1000
        # One query serves the hits, the pool they are picked from for diversity, and the
        # neighbours' passages that lie near the question.
        near = self._dense(qvec, scopes, max(k * 3, cfg.near_pool if hops > 0 else 0))
        pool = near[: k * 3]
        if hybrid:
            keyword = self._keyword(question, scopes, k, version, cfg)
            # One batched read: the papers of every candidate (the keyword filter reads their language).
            meta = papers.get([h.paper_id for h in pool] + [h.paper_id for h, _ in keyword.matches] + list(keyword.named))
            pool, relevance = self._fuse(question, language, qvec, pool, scopes, keyword, meta, cfg)
        else:
            relevance = Relevance(max((h.score for h in pool), default=0.0))
        ranked = sorted(((relevance.score(h.id, h.paper_id, h.score), h) for h in pool
                         if h.score >= cfg.score_threshold), key=lambda pair: (-pair[0], -pair[1].score))
        hits = diverse_hits(ranked, k, hit_floor, cfg.passages_per_paper)
        t2 = time.perf_counter()
        timings["search"] = (t2 - t1) * 1000

        meta = papers.get(h.paper_id for h in hits)  # read above when hybrid; the graph decides visibility
        passages = [self._passage(h, meta[h.paper_id]) for h in hits if h.paper_id in meta]
        hit_papers = list(dict.fromkeys(p.paper_id for p in passages))
        neighbours: list[Passage] = []
        if hops > 0 and hit_papers and budget > 0:
            gate = neighbour_floor * ranked[0][0]
            quoted = quoted_paper(near + pool, relevance, cfg.quote_ratio)
            neighbours = expand(self.graph, self.vectors, qvec, hit_papers, scopes, hops, budget, cfg.edge_weights,
                                near + pool, relevance, gate, quoted if quoted in hit_papers else None,
                                hop_decay=cfg.hop_decay, shortlist_factor=cfg.shortlist_factor,
                                papers=papers.get, hit_titles={p.paper_id: p.title for p in passages})
        timings["expand"] = (time.perf_counter() - t2) * 1000
        return SearchResult(question, language, passages, neighbours, timings)

    def _dense(self, qvec: np.ndarray, scopes: list[str] | None, k: int) -> list[ChunkHit]:
        return self.vectors.query(qvec, k, scopes)

    def _scope_papers(self, scopes: list[str] | None, version: Hashable) -> ScopePapers:
        key = _scope_key(scopes, version)
        cached = self._papers.get(key)
        if cached is None:  # a new version: the scope set's older entries go
            cached = ScopePapers(self.graph, scopes)
            self._papers = {k: v for k, v in self._papers.items() if k[0] != key[0]} | {key: cached}
        return cached

    def _paper_names(self, scopes: list[str] | None, version: Hashable) -> PaperNames:
        key = _scope_key(scopes, version)
        if key not in self._names:
            self._names = {k: v for k, v in self._names.items() if k[0] != key[0]}
            self._names[key] = PaperNames(self.graph.papers(scopes))
        return self._names[key]

    def _keyword(self, question: str, scopes: list[str] | None, k: int, version: Hashable,
                 cfg: RetrievalSettings) -> KeywordSide:
        """The keyword side of hybrid search: BM25 matches, their min-max scores, the papers named."""
        index = self.keyword_cache.get(self.vectors, scopes, version)
        names = self._paper_names(scopes, version)
        # Scores for as many matches as the dense pool holds (a neighbour's passage is judged by
        # them too); the top k * 3 are also candidates for the hits. Scaled against every match,
        # before the script filter: a paper that is the best match only among the few written
        # like the question is not thereby a strong one.
        matches = index.search(question, max(k * 3, cfg.near_pool))
        return KeywordSide(index, names, matches, min_max({h.id: s for h, s in matches}), names.named_in(question), k)

    def _fuse(self, question: str, language: str, qvec: np.ndarray, dense: list[ChunkHit], scopes: list[str] | None,
              keyword: KeywordSide, known: dict[str, PaperRow], cfg: RetrievalSettings
              ) -> tuple[list[ChunkHit], Relevance]:
        """Dense and BM25 candidates, and the fused scorer that ranks them; hits keep their cosine.

        The fusion leans per question. Keyword matches count only in papers written like the
        question (CJK or alphabetic, ``script_family``): across that line the only words shared
        are names and acronyms, and the vectors already match meaning; so a question in a language
        the library's papers are not written in leans on the vectors. A question that names a paper gets that paper's
        passages with full keyword credit, whatever its language. ``known``: the candidates' papers.
        """
        matches = keyword.matches
        family = script_family(language)
        if family != "und":
            matches = [(h, s) for h, s in matches
                       if script_family(known.get(h.paper_id, {}).get("language") or "") in ("und", family)]
        top = matches[: keyword.k * 3]
        by_id = {h.id: h for h in dense}
        missing = [h for h, _ in top if h.id not in by_id]
        if missing:  # keyword-only hits get their cosine: for fusion, display and the threshold
            vectors = self.vectors.chunk_vectors([h.id for h in missing])
            for hit in missing:  # copies: the index's hits are shared between questions
                by_id[hit.id] = replace(hit, score=float(vectors[hit.id] @ qvec) if hit.id in vectors else 0.0)
        named = keyword.named
        absent = [pid for pid in named if not any(h.paper_id == pid for h in by_id.values())]
        if absent:  # a named paper far from the question's vector: its best passage joins
            chunk_ids = self.graph.chunk_ids(absent, scopes)
            for hit in best_passages(self.graph, self.vectors, qvec, chunk_ids).values():
                by_id[hit.id] = hit
        best = max((h.score for h in by_id.values()), default=0.0)
        if cfg.fusion == "rrf":
            fused = reciprocal_rank_fusion([[h.id for h in dense], [h.id for h, _ in top]], cfg.rrf_k)
            relevance = Relevance(best, named=named, name_credit=1.0, ranks=fused)
        else:
            blind = None
            if family != "und" and not named:  # a named paper is the lookup: no vector-only credit
                languages = keyword.names.languages

                def blind(paper_id: str) -> bool:
                    return script_family(languages.get(paper_id) or "") not in ("und", family)
            relevance = Relevance(best, cfg.hybrid_alpha, {h.id: keyword.scaled[h.id] for h, _ in matches},
                                  keyword.index.coverage(question), cfg.keyword_floor, named, 1.0 - cfg.hybrid_alpha,
                                  blind=blind)
        return list(by_id.values()), relevance

    @staticmethod
    def _passage(hit: ChunkHit, paper: PaperRow) -> Passage:
        return Passage(
            paper_id=hit.paper_id,
            title=paper.get("title", ""),
            section=hit.section,
            page=hit.page_start,
            score=round(hit.score, 4),
            text=hit.text,
            chunk_id=hit.id,
            authors=list(paper.get("authors") or []),  # a copy: the paper dict is cached
            year=paper.get("year"),
            origin=paper.get("source") or "",
        )


@dataclass(frozen=True)
class KeywordSide:
    """One question's keyword side: the index searched, the library's paper names, the BM25
    matches (best first) with their min-max scores, the papers the question names, and ``k``."""

    index: KeywordIndex
    names: PaperNames
    matches: list[tuple[ChunkHit, float]]
    scaled: dict[str, float]
    named: frozenset[str]
    k: int
