"""Chunks stay inside sections, respect the token budget and keep their pages."""

from scholargraph.chunking import chunk_paper, count_tokens
from scholargraph.models import Block, Paper, Section
from scholargraph.settings import ChunkingSettings


def _paper(sections):
    return Paper(id="p1", content_hash="x" * 64, origin="/tmp/p.pdf", title="T", sections=sections)


def test_chunks_never_cross_sections_and_keep_pages():
    intro = Section("1 Introduction", [Block("word " * 100, 1), Block("more " * 100, 2)])
    method = Section("2 Method", [Block("method text here. " * 10, 3)])
    chunks = chunk_paper(_paper([intro, method]), ChunkingSettings(max_tokens=120, overlap_tokens=0, min_tokens=5))
    assert {c.section for c in chunks} == {"1 Introduction", "2 Method"}
    for c in chunks:
        assert count_tokens(c.text) <= 120
        assert ("method" in c.text) == (c.section == "2 Method")
    assert chunks[0].page_start == 1 and chunks[-1].page_start == 3
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_long_paragraph_is_cut_at_sentences_with_overlap():
    text = " ".join(f"Sentence number {i} says something useful." for i in range(60))
    chunks = chunk_paper(_paper([Section("Results", [Block(text, 4)])]), ChunkingSettings(max_tokens=60, overlap_tokens=12, min_tokens=5))
    assert len(chunks) > 3
    assert all(c.text.rstrip().endswith(".") for c in chunks)
    # consecutive chunks share their boundary sentence
    assert chunks[0].text.split(". ")[-1].rstrip(".") in chunks[1].text


def test_chinese_is_counted_per_character():
    assert count_tokens("图神经网络") == 5
    zh = "本文提出一种新的方法。" * 80
    chunks = chunk_paper(_paper([Section("引言", [Block(zh, 1)])]), ChunkingSettings(max_tokens=100, overlap_tokens=0, min_tokens=5))
    assert len(chunks) >= 8
    assert all(count_tokens(c.text) <= 100 for c in chunks)


def test_tiny_tail_joins_previous_chunk():
    blocks = [Block("a " * 50, 1), Block("tail", 2)]
    chunks = chunk_paper(_paper([Section("S", blocks)]), ChunkingSettings(max_tokens=50, overlap_tokens=0, min_tokens=10))
    assert len(chunks) == 1 and chunks[0].page_end == 2


def test_chunks_carry_their_sections_kind():
    """Captions, tables and footnotes are chunked after the body, each chunk saying what it is."""
    paper = _paper([
        Section("Figure 1 (caption)", [Block("Figure 1: A chart of results.", 2, "caption")]),
        Section("1 Intro", [Block("Body text of the introduction goes here.", 1)]),
    ])
    chunks = chunk_paper(paper)
    assert [(c.section, c.kind) for c in chunks] == [("1 Intro", "body"), ("Figure 1 (caption)", "caption")]
    assert "Figure 1" not in paper.body_text
