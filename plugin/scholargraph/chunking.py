"""Section-aware, token-sized chunks that remember their section and pages.

A chunk never crosses a section boundary, so every passage shown to a reader can say
"Section 3, p. 4". Long paragraphs are cut at sentence ends; consecutive chunks of a
section share a small overlap so a fact split across the cut is still found.
Token counts are estimated (a word, or one CJK character, is a token): close enough for
budgeting and independent of any tokenizer download. Captions, table text and footnotes are
sections of their own kind (see ``models.ASIDE_KINDS``): their chunks carry that kind and a
label such as "Figure 2 (caption)", so running-text chunks hold running text only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scholargraph.models import BODY, Chunk, Paper
from scholargraph.settings import ChunkingSettings

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\s\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s+|(?<=[。！？])")


def count_tokens(text: str) -> int:
    """Estimated tokens: words plus CJK characters."""
    return len(_TOKEN.findall(text))


def truncate_tokens(text: str, max_tokens: int) -> str:
    """The text cut after ``max_tokens`` estimated tokens."""
    match = None
    for i, match in enumerate(_TOKEN.finditer(text)):
        if i == max_tokens:
            return text[: match.start()].rstrip()
    return text


@dataclass
class _Unit:
    text: str
    page: int | None
    tokens: int


def _split_long(text: str, page: int | None, max_tokens: int) -> list[_Unit]:
    """Cut a paragraph into sentence groups under ``max_tokens``; hard-cut run-on sentences."""
    units: list[_Unit] = []
    for sentence in (s.strip() for s in _SENTENCE_END.split(text)):
        if not sentence:
            continue
        while count_tokens(sentence) > max_tokens:
            head = truncate_tokens(sentence, max_tokens)
            units.append(_Unit(head, page, count_tokens(head)))
            sentence = sentence[len(head) :].strip()
        if sentence:
            units.append(_Unit(sentence, page, count_tokens(sentence)))
    return units


def _join(units: list[_Unit]) -> str:
    return " ".join(u.text for u in units)


def chunk_paper(paper: Paper, settings: ChunkingSettings | None = None) -> list[Chunk]:
    """All chunks of a paper: running text first, then captions, tables and footnotes (its
    reference list is not chunked)."""
    settings = settings or ChunkingSettings()
    chunks: list[Chunk] = []
    ordered = [s for s in paper.sections if s.kind == BODY] + [s for s in paper.sections if s.kind != BODY]
    for section in ordered:
        units: list[_Unit] = []
        for block in section.blocks:
            text = block.text.strip()
            if not text:
                continue
            tokens = count_tokens(text)
            if tokens > settings.max_tokens:
                units.extend(_split_long(text, block.page, settings.max_tokens))
            else:
                units.append(_Unit(text, block.page, tokens))
        for group in _pack(units, settings):
            pages = [u.page for u in group if u.page is not None]
            chunks.append(
                Chunk(
                    id="",
                    paper_id=paper.id,
                    index=len(chunks),
                    text=_join(group),
                    section=section.title,
                    page_start=min(pages) if pages else None,
                    page_end=max(pages) if pages else None,
                    kind=section.kind,
                )
            )
    return chunks


def _pack(units: list[_Unit], settings: ChunkingSettings) -> list[list[_Unit]]:
    """Greedy packing under max_tokens with overlap; a tiny tail joins its predecessor."""
    groups: list[list[_Unit]] = []
    current: list[_Unit] = []
    size = 0
    for unit in units:
        if current and size + unit.tokens > settings.max_tokens:
            groups.append(current)
            overlap: list[_Unit] = []
            kept = 0
            for previous in reversed(current):
                if kept + previous.tokens > settings.overlap_tokens:
                    break
                overlap.insert(0, previous)
                kept += previous.tokens
            current, size = overlap, kept
        current.append(unit)
        size += unit.tokens
    if current:
        tail_tokens = sum(u.tokens for u in current)
        if groups and tail_tokens < settings.min_tokens:
            seen = {id(u) for u in groups[-1]}
            groups[-1].extend(u for u in current if id(u) not in seen)
        else:
            groups.append(current)
    return groups


def embedding_text(title: str, chunk: Chunk) -> str:
    """What gets embedded for a chunk: its paper title and section give the passage context."""
    header = " — ".join(part for part in (title, chunk.section) if part)
    return f"{header}\n{chunk.text}" if header else chunk.text
