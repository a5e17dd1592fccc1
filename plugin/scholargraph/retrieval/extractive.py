"""An answer without a chat LLM: the few sentences of the context pack that best answer the
question, each cited [n] as an LLM would cite it.

Sentences are scored by the library's own embedder (question vector against sentence
vectors: the model that found the passages, so a Chinese question picks English sentences)
plus a little for the question's words they contain, then chosen greedily: near-duplicates
are skipped and a cited paper already quoted must clearly beat the next best from another one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from scholargraph.embedding.base import Embedder
from scholargraph.retrieval.context import CitedPaper, ContextPack
from scholargraph.retrieval.results import Passage
from scholargraph.settings import RetrievalSettings

# How many sentences are embedded, how far below the best one a sentence may join, and what
# repeats cost are tuning: ``retrieval.extractive_*`` settings. What follows tells a readable
# sentence from a caption, a table row or code: rules of text, not knobs.
_DEFAULTS = RetrievalSettings.model_validate({})

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\W_]+")
_URLISH = re.compile(r"https?://|www\.|\S+@\S+\.\w+|\w\.[a-z]{2,}/")
# captions ("Table 1: ...") and footnotes ("20Used to ...") are labels, not answers
_LABEL = re.compile(r"^(?:(?:Table|Figure|Fig\.|Tab\.|Algorithm|Listing)\s*\d+|\d+\s?[A-Z])")
_BULLET = re.compile(r"^\s*(?:[•▪◦·‣∙*–-]|\(?[0-9ivx]{1,3}[.)])\s+")
_ENDED = re.compile(r"[.!?。！？][\"”’)\]]*$")
# code listings and figure residue: a prompt, braces, a call on a name; a run of lone letters
_CODE = re.compile(r">>>|[{}]|\w\.\w+\(|\bdef \w+\(|\bimport \w+")
SINGLE_LETTER_SHARE = 0.25  # more one-letter words than this: a formula or figure letters, not prose


@dataclass
class AnswerSentence:
    """One quoted sentence and the number [n] of the cited paper it quotes."""

    text: str
    n: int
    score: float
    section: str = ""
    page: int | None = None


@dataclass
class ExtractiveAnswer:
    """Quoted sentences in order of score, and the pack's numbered cited papers they quote."""

    sentences: list[AnswerSentence]
    cited: list[CitedPaper]

    def text(self) -> str:
        """The sentences, each followed by its [n], one per line."""
        return "\n".join(f"{s.text} [{s.n}]" for s in self.sentences)

    def markdown(self, note: str = "") -> str:
        """For a chat: the quoted sentences, the numbered cited papers in plain words, then ``note``."""
        lines = [f"> {s.text} [{s.n}]" for s in self.sentences] or [
            "No sentence of the sources answers this directly; see the sources below."]
        lines += ["", "**Sources**", ""] + [f"{src.line()}  " for src in self.cited]
        if note:
            lines += ["", f"*{note}*"]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The published shape: each sentence's ``source`` is its [n], ``sources`` the cited papers."""
        return {
            "answer": [{"text": s.text, "source": s.n, "score": round(s.score, 4), "section": s.section,
                        "page": s.page} for s in self.sentences],
            "sources": [src.to_json() for src in self.cited],
        }


def sentences_of(text: str) -> list[str]:
    """Sentences of a passage, by ``sentencex``'s rules for its script (abbreviations such as
    'et al.' and 'Fig. 2' do not end a sentence)."""
    from sentencex import segment

    language = "zh" if len(_CJK.findall(text)) > len(text) / 5 else "en"
    flat = " ".join(text.split()) if language == "en" else text.replace("\n", "")
    return [t for t in (_BULLET.sub("", s).strip() for s in segment(language, flat)) if t]


def _readable(sentence: str) -> bool:
    """Long enough to say something, short enough to quote, mostly words (not a table row),
    a whole sentence (not one cut at a chunk's edge), a statement, not a caption or footnote."""
    if sentence.endswith(("?", "？")):
        return False  # a question the paper asks is not an answer
    cjk = len(_CJK.findall(sentence))
    if cjk >= 8:
        return len(sentence) <= 200
    words = sentence.split()
    if not 6 <= len(words) <= 50 or _URLISH.search(sentence) or _LABEL.match(sentence):
        return False
    if sentence[0].islower() or not _ENDED.search(sentence):
        return False  # a fragment cut at a chunk's edge
    if _CODE.search(sentence) or sum(len(w) == 1 for w in words) > SINGLE_LETTER_SHARE * len(words):
        return False  # a code listing or the letters of a figure, not prose
    letters = sum(c.isalpha() for c in sentence)
    return letters / max(1, len(sentence.replace(" ", ""))) >= 0.75


def _words(text: str) -> set[str]:
    return {t.lower() for t in _TOKEN.findall(text) if len(t) > 2 or _CJK.match(t)}


def extract_answer(question: str, pack: ContextPack, embedder: Embedder, max_sentences: int = 3,
                   task: str = "retrieve", tuning: RetrievalSettings | None = None) -> ExtractiveAnswer:
    """Up to ``max_sentences`` sentences of ``pack`` that best answer ``question`` (fewer when
    the rest score far below the best), in order of score. ``tuning``: the ``retrieval.extractive_*``
    settings (their defaults when None)."""
    cfg = tuning or _DEFAULTS
    candidates: list[tuple[str, CitedPaper, Passage]] = []
    seen: set[str] = set()
    for src in pack.cited:  # pack order: hits by rank, then neighbours
        for passage in src.passages:
            for sentence in sentences_of(passage.text):
                key = " ".join(sentence.lower().split())
                if key in seen or not _readable(sentence):
                    continue
                seen.add(key)
                candidates.append((sentence, src, passage))
    candidates = candidates[: cfg.extractive_candidates]
    if not candidates or max_sentences <= 0:
        return ExtractiveAnswer([], pack.cited)

    qvec = np.asarray(embedder.embed_queries([question], task=task)[0], dtype=np.float32)
    vectors = np.asarray(embedder.embed_documents([c[0] for c in candidates]), dtype=np.float32)
    cosines = vectors @ qvec
    asked = _words(question)
    overlap = np.array([len(asked & _words(c[0])) / len(asked) if asked else 0.0 for c in candidates])
    scores = cosines + cfg.extractive_word_weight * overlap

    chosen: list[int] = []
    quoted: set[int] = set()
    best = float(scores.max())
    while len(chosen) < max_sentences:
        adjusted = scores - np.array([cfg.extractive_source_penalty if c[1].n in quoted else 0.0 for c in candidates])
        for i in chosen:
            adjusted[i] = -np.inf
        if chosen:  # near-duplicates of what is already said
            dup = (vectors @ vectors[chosen].T).max(axis=1) >= cfg.extractive_duplicate_cosine
            adjusted[dup] = -np.inf
        i = int(np.argmax(adjusted))
        floor = cfg.extractive_second_floor if len(chosen) == 1 else cfg.extractive_floor
        if not np.isfinite(adjusted[i]) or (chosen and adjusted[i] < floor * best):
            break
        chosen.append(i)
        quoted.add(candidates[i][1].n)
    sentences = [AnswerSentence(candidates[i][0], candidates[i][1].n, float(scores[i]),
                                candidates[i][2].section, candidates[i][2].page) for i in chosen]
    return ExtractiveAnswer(sentences, pack.cited)


def quote_answer(embedder: Embedder, question: str, pack: ContextPack, max_sentences: int = 3,
                 tuning: RetrievalSettings | None = None) -> ExtractiveAnswer:
    """``extract_answer``, except that a pack about the whole library answers with its
    overview's lines (``Library.quote`` passes the library's embedder and settings)."""
    if pack.overview is not None:
        return pack.overview
    return extract_answer(question, pack, embedder, max_sentences, tuning=tuning)
