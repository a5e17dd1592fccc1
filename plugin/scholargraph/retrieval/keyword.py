"""BM25 keyword ranking over chunk text (bm25s), for hybrid search.

Latin text is split into lower-cased words; CJK text into character bigrams, since Chinese
has no spaces and single characters are too ambiguous. Indexes are cached per scope set and
rebuilt when the set's papers change.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Hashable, Sequence

import bm25s

from scholargraph.chroma_store import ChunkHit
from scholargraph.retrieval.ports import ChunkReads, PaperRow

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\u3040-\u30ff]+")
# Function words, and the words questions open with: "What is PaperMage?" must not match every
# passage that says "what".
_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were with we our "
    "what which who whom whose how why when where do does did can could would should".split()
)


def tokenize(text: str) -> list[str]:
    """Words and CJK bigrams, stopwords dropped."""
    lowered = text.lower()
    tokens = [w for w in _WORD.findall(lowered) if w not in _STOP and len(w) > 1]
    for run in _CJK_RUN.findall(lowered):
        tokens.extend(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return tokens


class KeywordIndex:
    """A BM25 index over a fixed list of chunks."""

    def __init__(self, chunks: list[ChunkHit]) -> None:
        self.chunks = chunks
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(c.text) or ["\u2205"] for c in chunks]
        if chunks:
            self._bm25.index(corpus, show_progress=False)

    def coverage(self, query: str) -> float:
        """How much of the question the index can match: the known terms' share of its IDF mass.

        A term the index lacks counts as the rarest possible, so a Chinese question over English
        papers whose only shared word is "GPT-4" scores low, and so do filler bigrams like "中的"
        that occur everywhere. 0 for a question with no terms.
        """
        tokens = tokenize(query)
        if not tokens or not self.chunks:
            return 0.0
        vocab, indptr = self._bm25.vocab_dict, self._bm25.scores["indptr"]
        n = len(self.chunks)

        def idf(df: int) -> float:
            return math.log(1 + (n - df + 0.5) / (df + 0.5))

        known = total = 0.0
        for token in tokens:
            if token in vocab:
                i = vocab[token]
                weight = idf(int(indptr[i + 1] - indptr[i]))
                known += weight
                total += weight
            else:
                total += idf(0)  # as rare as a term can be
        return known / total if total else 0.0

    def search(self, query: str, k: int) -> list[tuple[ChunkHit, float]]:
        tokens = [t for t in tokenize(query)]
        if not self.chunks or not tokens:
            return []
        vocab = self._bm25.vocab_dict
        known = [t for t in tokens if t in vocab]
        if not known:
            return []
        # n_threads=0 scores in this thread; any other value starts a thread pool on every call.
        docs, scores = self._bm25.retrieve([known], k=min(k, len(self.chunks)), show_progress=False, n_threads=0)
        return [(self.chunks[int(i)], float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]


class KeywordIndexCache:
    """One index per scope set, rebuilt when that set's papers change (``version``)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[tuple[str, ...] | None, Hashable], KeywordIndex] = {}
        self._lock = threading.Lock()

    def get(self, store: ChunkReads, scopes: list[str] | None, version: Hashable) -> KeywordIndex:
        """The index of ``scopes``; ``version`` is anything that changes when their papers do
        (the graph's ``scope_version``: a SQL aggregate, cheaper than counting vectors)."""
        key_scopes = tuple(sorted(scopes)) if scopes is not None else None
        with self._lock:
            key = (key_scopes, version)
            if key not in self._cache:
                self._cache = {k: v for k, v in self._cache.items() if k[0] != key_scopes}
                self._cache[key] = KeywordIndex(store.texts(scopes))
            return self._cache[key]


# Latin words (hyphens kept: "Multi-LexSum"); a name glued to Chinese text still splits off.
_NAME_WORD = re.compile(r"[0-9a-z\u00c0-\u024f]+(?:-[0-9a-z\u00c0-\u024f]+)*")
MAX_NAME_WORDS = 3  # a paper's short name ('paper plain'); a longer head is a sentence: a rule of titles, not a knob


def paper_name(title: str) -> str | None:
    """The short name a paper goes by, when its title gives one: "PaperMage: A Unified Toolkit ..."
    -> "papermage", "Paper Plain: Making ..." -> "paper plain". None for titles without a
    name before a colon (a long head is a sentence, not a name)."""
    head, sep, _ = (title or "").partition(":")
    words = _NAME_WORD.findall(head.lower())
    if not sep or not words or len(words) > MAX_NAME_WORDS:
        return None
    return " ".join(words)


class PaperNames:
    """Which papers a question names: the named-entity side of hybrid search.

    A question that names a paper ("What is PaperMage?", "Was ist LayoutParser?", "PaperMage
    是什么？") is about that paper whatever its language; the vectors of a short question are
    too flat to tell. Names come from the library's own titles, so a common term that names
    no paper ("GPT-4") is not one.
    """

    def __init__(self, papers: Sequence[PaperRow]) -> None:
        self.names: dict[str, set[str]] = {}
        self.languages = {p["id"]: p.get("language") or "und" for p in papers}
        for paper in papers:
            name = paper_name(paper.get("title") or "")
            if name:
                self.names.setdefault(name, set()).add(paper["id"])

    def named_in(self, question: str) -> frozenset[str]:
        words = _NAME_WORD.findall(question.lower())
        found: set[str] = set()
        for size in range(1, MAX_NAME_WORDS + 1):
            for i in range(len(words) - size + 1):
                found |= self.names.get(" ".join(words[i : i + size]), set())
        return frozenset(found)
