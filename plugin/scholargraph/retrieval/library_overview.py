"""Questions about the library as a whole, answered from the paper graph instead of 8 passages.

"What are the main themes of my papers?" has no passage that answers it: the answer is the shape
of the library. So such a question gets a context pack built from the graph: themes (Leiden
communities over the cites and similar edges, labelled by the words that set each community's
text apart: c-TF-IDF over its chunks), how often each paper is cited by the others, which paper
cites which, and every paper's abstract as its passage. The LLM writes from that pack
like from any other; without an LLM the overview's own lines are the answer.

Which questions: ``retrieval.library_questions`` ('always', 'off', or 'auto': a question whose
embedding is close enough to one of a few multilingual prototype questions, by the library's own
embedder; threshold ``retrieval.library_threshold``, chosen on tests/test_library_questions.py).
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np

from scholargraph.chunking import count_tokens, truncate_tokens
from scholargraph.retrieval.context import PREAMBLE, CitedPaper, ContextPack, short_title
from scholargraph.retrieval.extractive import AnswerSentence, ExtractiveAnswer
from scholargraph.retrieval.keyword import tokenize
from scholargraph.retrieval.ports import ChunkReads, Embedder, PaperReads
from scholargraph.retrieval.results import Passage
from scholargraph.settings import RetrievalSettings

# A few questions per intent and language; a question is a library question when it is close to one.
PROTOTYPES: dict[str, list[str]] = {
    "themes": [
        "What are the main themes of my papers?",
        "What topics does my library cover?",
        "Group my papers by topic.",
        "Summarize my paper collection.",
        "我的论文主要有哪些主题？",
        "我的文献库涵盖哪些研究方向？",
        "Was sind die Hauptthemen meiner Papers?",
        "Welche Themen decken meine Artikel ab?",
        "Quels sont les principaux thèmes de mes articles ?",
        "Quels sujets couvre ma bibliothèque ?",
    ],
    "cited": [
        "Which of my papers are most cited by the others?",
        "Which paper in my library is cited the most?",
        "What are the most central papers of my collection?",
        "我的论文中哪些被其他论文引用最多？",
        "Welche meiner Papers werden von den anderen am häufigsten zitiert?",
        "Lesquels de mes articles sont les plus cités par les autres ?",
    ],
    "relations": [
        "How do these papers relate to each other?",
        "How are the papers in my library connected?",
        "Give me an overview of my library.",
        "这些论文之间有什么联系？",
        "Wie hängen diese Papers zusammen?",
        "Quels sont les liens entre ces articles ?",
    ],
    # Questions about one paper that sound alike ("which papers cite S2ORC?"): a question closer to
    # these than to every library prototype is an ordinary one, answered from passages.
    "one_paper": [
        "Which papers cite this paper?",
        "Which works does this paper cite?",
        "What is this paper about?",
        "What method does this paper propose?",
        "Welche Arbeiten zitieren diesen Artikel?",
        "Quels articles citent cet article ?",
    ],
}
ORDINARY = "one_paper"

_DEFAULTS = RetrievalSettings.model_validate({})
# retrieval.theme_resolution: below 1, modularity prefers fewer, larger themes: a library's paper
# graph is sparse (a paper cites few others held), and at 1 on the shared papers S2ORC left
# PaperMage, which cites it; at 0.6 everything but two papers merges (tests/test_library_questions.py).
# retrieval.theme_label_words: words naming a theme.
_DIGITS = re.compile(r"^[0-9][0-9a-z'-]*$")
# Words every paper says; c-TF-IDF downweights them already, but a label of "et al" says nothing.
_NOISE = frozenset("al et fig figure table section paper papers use used using also can et al https http www "
                   "arxiv doi org pp vol proceedings conference association linguistics".split())

CACHE_SIZE = 32  # overviews kept (one per scope set and library version): memory, not a tuning knob
_VECTORS: dict[str, np.ndarray] = {}
_CACHE: dict[tuple[Hashable, ...], Overview] = {}
_LOCK = threading.Lock()


@dataclass
class Theme:
    """One community of the paper graph: its label words and its papers (most cited first)."""

    n: int
    words: list[str]
    papers: list[str]

    @property
    def label(self) -> str:
        return ", ".join(self.words) or "unlabelled"


@dataclass
class Overview:
    """The library's shape within some scopes: papers, themes, citations between them."""

    papers: dict[str, dict[str, Any]]  # id -> {title, authors, year, source (its origin), abstract}
    themes: list[Theme]
    cited_by: dict[str, list[str]] = field(default_factory=dict)  # id -> library papers citing it
    cites: list[tuple[str, str]] = field(default_factory=list)  # (citing, cited)

    def theme_of(self, paper_id: str) -> Theme | None:
        return next((t for t in self.themes if paper_id in t.papers), None)

    def to_json(self) -> dict[str, Any]:
        """Themes and in-library citation counts as data (search --scope library --json)."""
        def brief(p: str) -> dict[str, Any]:
            paper = self.papers[p]
            return {"id": p, "title": paper["title"], "year": paper["year"],
                    "cited_by": [{"id": c, "title": self.papers[c]["title"]} for c in self.cited_by.get(p, [])]}

        return {"papers": len(self.papers),
                "themes": [{"n": t.n, "label": t.words, "papers": [brief(p) for p in t.papers]} for t in self.themes],
                "most_cited": [brief(p) for p in self.most_cited()],
                "cites": [{"source": a, "target": b} for a, b in self.cites]}

    def most_cited(self) -> list[str]:
        """Papers cited by at least one other, most cited first (ties: older first)."""
        cited = [p for p in self.papers if self.cited_by.get(p)]
        return sorted(cited, key=lambda p: (-len(self.cited_by[p]), self.papers[p].get("year") or 9999))


# -- detection ----------------------------------------------------------------------------------
def _prototype_vectors(embedder: Embedder) -> tuple[list[str], np.ndarray]:
    intents = [i for i, qs in PROTOTYPES.items() for _ in qs]
    with _LOCK:
        vectors = _VECTORS.get(embedder.name)
        if vectors is None:
            texts = [q for qs in PROTOTYPES.values() for q in qs]
            vectors = _VECTORS[embedder.name] = np.asarray(embedder.embed_queries(texts), dtype=np.float32)
    return intents, vectors


def library_intent_scores(embedder: Embedder, question: str, qvec: np.ndarray | None = None) -> dict[str, float]:
    """Each intent's best cosine between the question and its prototype questions (``qvec``: the
    question's retrieval vector, when the caller has it)."""
    intents, vectors = _prototype_vectors(embedder)
    q = np.asarray(embedder.embed_queries([question])[0] if qvec is None else qvec, dtype=np.float32)
    sims = vectors @ q
    best: dict[str, float] = {}
    for intent, sim in zip(intents, sims):
        best[intent] = max(best.get(intent, -1.0), float(sim))
    return best


def library_intent(embedder: Embedder, question: str, threshold: float, qvec: np.ndarray | None = None) -> str | None:
    """'themes', 'cited' or 'relations' when the question is about the library as a whole, else None."""
    scores = library_intent_scores(embedder, question, qvec)
    intent = max(scores, key=lambda name: scores[name])
    return intent if intent != ORDINARY and scores[intent] >= threshold else None


# -- the overview -------------------------------------------------------------------------------
def communities(paper_ids: list[str], weighted: dict[tuple[str, str], float],
                resolution: float = _DEFAULTS.theme_resolution, seed: int = 0) -> list[list[str]]:
    """Leiden communities (modularity at ``resolution``; fixed seed: the same library gives the same themes)."""
    import igraph as ig
    import leidenalg

    index = {p: i for i, p in enumerate(paper_ids)}
    pairs = [(index[a], index[b]) for a, b in weighted]
    g = ig.Graph(n=len(paper_ids), edges=pairs, directed=False)
    g.es["weight"] = list(weighted.values())
    part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition, weights="weight" if pairs else None,
                                    resolution_parameter=resolution, seed=seed)
    return [[paper_ids[i] for i in members] for members in part]


def theme_words(groups: list[list[str]], top: int = _DEFAULTS.theme_label_words) -> list[list[str]]:
    """c-TF-IDF (BERTopic's class-based TF-IDF) over each community's papers: a word's share of the
    community's text times log(1 + average mass per community / the word's mass over all of them).
    A paper weighs the square root of its length: a 115-chunk paper does not name its theme alone,
    nor does a 3-chunk one."""
    def shares(text: str) -> Counter[str]:
        c = Counter(t for t in tokenize(text) if len(t) > 2 and not _DIGITS.match(t) and t not in _NOISE)
        size = sum(c.values()) or 1
        return Counter({w: n / math.sqrt(size) for w, n in c.items()})  # weight grows as sqrt(length)

    classes: list[Counter[str]] = []
    for texts in groups:
        mass: Counter[str] = Counter()
        for text in texts:
            mass.update(shares(text))
        classes.append(mass)
    total: Counter[str] = Counter()
    for c in classes:
        total.update(c)
    average = sum(total.values()) / max(1, len(classes))
    out = []
    for c in classes:
        size = sum(c.values()) or 1
        scored = sorted(c, key=lambda w: (-(c[w] / size) * math.log(1 + average / total[w]), w))
        out.append(scored[:top])
    return out


def _paper_text(vectors: ChunkReads, paper_id: str, scope: str) -> str:
    """The paper's body text (reference lists left out: they name other papers' topics)."""
    got = vectors.paper_chunks(paper_id, scope)
    return "\n".join(doc for doc, meta in zip(got["documents"], got["metadatas"])
                     if meta.get("kind", "body") != "references")


def build_overview(graph: PaperReads, vectors: ChunkReads, scopes: list[str] | None,
                   settings: RetrievalSettings = _DEFAULTS) -> Overview:
    """Themes, citation counts and abstracts of the visible papers (cached until papers change)."""
    weights = settings.edge_weights
    key = (graph.url, tuple(sorted(scopes)) if scopes is not None else None, graph.scope_version(scopes),
           settings.theme_resolution, settings.theme_label_words, tuple(sorted(weights.items())))
    with _LOCK:
        cached = _CACHE.get(key)
    if cached is not None:
        return cached
    rows = graph.papers(scopes)
    papers: dict[str, dict[str, Any]] = {}
    for row in rows:
        full = graph.get_paper(row["id"], scopes) or row
        papers[row["id"]] = {**row, "abstract": (full.get("abstract") or "").strip()}
    weighted: dict[tuple[str, str], float] = {}
    cited_by: dict[str, list[str]] = {}
    cites: list[tuple[str, str]] = []
    for edge in graph.edges(scopes, kinds=["cites", "similar"]):
        a, b = edge["source"], edge["target"]
        if a == b or a not in papers or b not in papers:
            continue
        if edge["kind"] == "cites":
            cited_by.setdefault(b, []).append(a)
            cites.append((a, b))
        w = weights.get(edge["kind"], 1.0) * float(edge["weight"] or 1.0)
        pair = (a, b) if a < b else (b, a)
        weighted[pair] = weighted.get(pair, 0.0) + w
    groups = communities(list(papers), weighted, settings.theme_resolution)
    texts = [[(papers[p]["title"] or "") + "\n" + (_paper_text(vectors, p, papers[p]["scopes"][0]) or papers[p]["abstract"])
              for p in g] for g in groups]
    labels = theme_words(texts, settings.theme_label_words)

    def by_cites(p: str) -> tuple[int, int, str]:
        return -len(cited_by.get(p, [])), papers[p].get("year") or 9999, papers[p]["title"] or ""

    themes = [Theme(0, words, sorted(g, key=by_cites)) for g, words in zip(groups, labels)]
    themes.sort(key=lambda t: (-len(t.papers), by_cites(t.papers[0])))
    for n, theme in enumerate(themes, 1):
        theme.n = n
    overview = Overview(papers, themes, cited_by, cites)
    with _LOCK:
        _CACHE[key] = overview
        while len(_CACHE) > CACHE_SIZE:  # scope sets of many users, and versions gone stale
            _CACHE.pop(next(iter(_CACHE)))
    return overview


# -- the pack and the answer without an LLM --------------------------------------------------------
def _name(overview: Overview, numbers: dict[str, int], paper_id: str) -> str:
    return f"{short_title(overview.papers[paper_id]['title'] or paper_id)} [{numbers[paper_id]}]"


def overview_lines(overview: Overview, numbers: dict[str, int], intent: str) -> list[tuple[str, str]]:
    """(kind, sentence) lines that answer the intent first, then the rest of the overview."""
    def names(ids: list[str]) -> str:
        return ", ".join(_name(overview, numbers, p) for p in ids)

    themes = [("themes", f"Theme {t.n} ({t.label}): {names(t.papers)}.") for t in overview.themes]
    most = overview.most_cited()
    cited = [("cited", f"{_name(overview, numbers, p)} is cited by {len(overview.cited_by[p])} of the library's "
                       f"papers: {names(overview.cited_by[p])}.") for p in most]
    if not cited:
        cited = [("cited", "No paper of the library cites another one of it.")]
    links = [("relations", f"{_name(overview, numbers, a)} cites {_name(overview, numbers, b)}.")
             for a, b in overview.cites]
    order = {"themes": themes + cited[:3], "cited": cited + themes, "relations": themes + links}
    return order.get(intent, themes + cited)


def overview_pack(graph: PaperReads, vectors: ChunkReads, scopes: list[str] | None, intent: str | None,
                  settings: RetrievalSettings = _DEFAULTS) -> ContextPack:
    """The overview as a context pack within ``settings.context_tokens``: an overview block, then
    one cited paper per library paper (its abstract)."""
    budget_tokens = settings.context_tokens
    overview = build_overview(graph, vectors, scopes, settings)
    intent = intent or "themes"
    order = overview.most_cited() if intent == "cited" else []
    order += [p for t in overview.themes for p in t.papers if p not in order]
    numbers = {p: n for n, p in enumerate(order, 1)}
    lines = overview_lines(overview, numbers, intent)
    head = (f"<library_overview papers=\"{len(order)}\" themes=\"{len(overview.themes)}\">\n"
            "The question is about the library as a whole. Themes are communities of the citation and "
            "similarity graph, named by their most distinctive words; citation counts count only the "
            "library's own papers.\n" + "\n".join(text for _, text in lines) + "\n</library_overview>")
    used = count_tokens(PREAMBLE) + count_tokens(head)
    blocks: list[str] = []
    cited: list[CitedPaper] = []
    for paper_id in order:
        paper = overview.papers[paper_id]
        theme = overview.theme_of(paper_id)
        n_cited = len(overview.cited_by.get(paper_id, []))
        relation = "; ".join(b for b in (
            f"theme {theme.n}: {theme.label}" if theme else "",
            f"cited by {n_cited} library paper{'s' if n_cited != 1 else ''}" if n_cited else "") if b)
        src = CitedPaper(numbers[paper_id], paper_id, paper["title"] or paper_id, paper["authors"], paper["year"],
                         paper["source"], relation=relation)  # a paper row's "source" is its origin
        text = paper["abstract"] or (paper["title"] or "")
        tag = (f'<source id="{src.n}" title="{escape(src.title)}"'
               + (f' year="{src.year}"' if src.year else "") + f' relation="{escape(relation)}">')
        room = budget_tokens - used - count_tokens(tag) - 12
        if room > 20:
            text = truncate_tokens(text, min(room, 220))
            blocks.append(f"{tag}\n[section: abstract]\n{text.replace('</source', '&lt;/source')}\n</source>")
            used += count_tokens(blocks[-1])
        else:
            text = ""  # over the budget: the overview still names it, by its number
        src.passages.append(Passage(paper_id, src.title, "abstract", None, 1.0, text, authors=src.authors,
                                    year=src.year, origin=src.origin))
        cited.append(src)
    pack = ContextPack(text=PREAMBLE + "\n\n" + head + ("\n\n" + "\n\n".join(blocks) if blocks else ""),
                       cited=cited, language="und")
    pack.overview = OverviewAnswer(
        [AnswerSentence(text, 0, 1.0, kind) for kind, text in lines], cited)
    return pack


class OverviewAnswer(ExtractiveAnswer):
    """The overview's own lines as the answer without an LLM (they carry their [n] already)."""

    def text(self) -> str:
        return "\n".join(s.text for s in self.sentences)

    def markdown(self, note: str = "") -> str:
        lines = [f"- {s.text}" for s in self.sentences]
        lines += ["", "**Sources**", ""] + [f"{src.line()}  " for src in self.cited]
        if note:
            lines += ["", f"*{note}*"]
        return "\n".join(lines)


def library_pack(embedder: Embedder, graph: PaperReads, vectors: ChunkReads, question: str,
                 scopes: list[str] | None, mode: str | None = None, qvec: np.ndarray | None = None,
                 settings: RetrievalSettings = _DEFAULTS) -> ContextPack | None:
    """The overview pack when ``mode`` (default ``retrieval.library_questions``) says the question
    is about the library as a whole; None for an ordinary question. ``qvec``: the question's
    retrieval vector, so a question is embedded once for detection and search."""
    mode = mode or settings.library_questions
    if mode == "off":
        return None
    intent = library_intent(embedder, question, settings.library_threshold, qvec) if mode == "auto" else None
    if mode == "auto" and intent is None:
        return None
    if intent is None:  # 'always': still pick the closest intent for the order of the overview
        scores = library_intent_scores(embedder, question, qvec)
        scores.pop(ORDINARY)
        intent = max(scores, key=lambda name: scores[name])
    if not graph.scope_version(scopes)[0]:
        return None
    return overview_pack(graph, vectors, scopes, intent, settings)
