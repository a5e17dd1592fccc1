"""Clean passages: captions, table text and footnotes stay searchable but apart from body text,
and each body passage sits under the heading that really precedes it."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest
from debris import DebrisReport, PageEdges, find_debris

from scholargraph.chunking import chunk_paper
from scholargraph.library import Library
from scholargraph.models import Chunk, Paper
from scholargraph.parsing import parse_file
from scholargraph.parsing.asides import set_apart
from scholargraph.parsing.elements import Piece
from scholargraph.parsing.layout import column_order
from scholargraph.parsing.headings import HeadingRules
from scholargraph.parsing.sections import build_sections

# Measured with bench/debris.py: 0.292 before passages were cleaned, under 0.01 after (docs/evaluation.md).
MAX_DEBRIS_SHARE = 0.03
S2ORC, CITESEE = "2020.acl-main.447.pdf", "2302.07302v1.pdf"


def _parse_and_chunk(path: str) -> tuple[str, Paper, list[Chunk], PageEdges]:
    paper = parse_file(path)
    return Path(path).name, paper, chunk_paper(paper), PageEdges.from_pdf(path)


@pytest.fixture(scope="module")
def chunked(shared_data) -> dict[str, tuple[Paper, list[Chunk], PageEdges]]:
    """Every shared paper parsed and chunked with the default settings (what ingest stores)."""
    files = sorted(str(p) for p in (shared_data / "papers").glob("*.pdf"))
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        return {name: (paper, chunks, edges) for name, paper, chunks, edges in pool.map(_parse_and_chunk, files)}


def test_few_stored_chunks_carry_debris(chunked):
    report = DebrisReport()
    for name, (_, chunks, edges) in chunked.items():
        for chunk in chunks:
            report.add(name, chunk, edges)
    assert report.chunks > 300
    assert report.share <= MAX_DEBRIS_SHARE, report.examples
    assert {"caption", "table", "footnote"} <= set(report.by_kind)  # set apart, not deleted


def test_captions_are_their_own_labelled_chunks(chunked):
    _, chunks, _ = chunked[CITESEE]
    caption = [c for c in chunks if c.text.startswith("Figure 2: [Left] To help users discover important prior work")]
    assert len(caption) == 1 and caption[0].kind == "caption" and caption[0].section == "Figure 2 (caption)"
    assert caption[0].page_start == 2
    body = [c for c in chunks if c.kind == "body"]
    assert not any("Figure 2:" in c.text for c in body)


def test_body_passages_sit_under_the_heading_that_precedes_them(chunked):
    _, citesee, _ = chunked[CITESEE]
    intro = [c for c in citesee if c.section == "1 INTRODUCTION"]
    assert intro and intro[0].text.startswith("Science builds on the past work of others")
    assert not any(c.text.startswith("Figure") for c in intro)
    _, s2orc, _ = chunked[S2ORC]
    grobid = [c for c in s2orc if c.kind == "body" and "From the XML output of GROBID" in c.text]
    assert grobid and {c.section for c in grobid} == {"2.1 Processing PDFs"}
    latex = [c for c in s2orc if c.kind == "body" and "LATEX document source is available" in c.text]
    assert latex and latex[0].section == "2.2 Processing LATEX source"


def test_footnotes_and_tables_leave_the_body(chunked):
    paper, chunks, _ = chunked[S2ORC]
    assert "github.com/kermitt2/grobid" not in paper.body_text
    footnotes = [c for c in chunks if c.kind == "footnote" and "github.com/kermitt2/grobid" in c.text]
    assert footnotes and footnotes[0].section == "Footnotes (p. 3)"
    table = [c for c in chunks if c.kind == "table" and "Academic disciplines" in c.text]
    assert table and table[0].section == "Table 1 (table)"
    assert not any("cs.CV" in c.text or "stat.ML" in c.text for c in chunks if c.kind == "body")


def test_a_caption_is_found_by_search_and_says_what_it_is(tmp_path, shared_data, settings):
    library = Library(settings)
    paper_id = library.ingest([shared_data / "papers" / CITESEE], scope="kb").paper_ids.popitem()[1]
    hits = library.search("unexplored citations highlighted in different shades of yellow", ["kb"], hops=0).hits
    stored = library.store.paper_chunks(paper_id, "kb")
    library.close()
    assert hits[0].section == "Figure 2 (caption)" and hits[0].text.startswith("Figure 2:")
    kinds = {m["section"]: m["kind"] for m in stored["metadatas"]}
    assert kinds["Figure 2 (caption)"] == "caption" and kinds["1 INTRODUCTION"] == "body"


def test_glued_caption_and_footnote_are_cut_off_the_text_around_them():
    pieces = [
        Piece("Title", "1 Introduction", 1),
        Piece("NarrativeText", "1.0M 1.0M physics, math, CS multi no no Table 1: A comparison of corpora.", 1),
        Piece("NarrativeText", "We then use GROBID for parsing as described. 10https://github.com/kermitt2/grobid", 1),
        Piece("NarrativeText", "As shown in Figure 3. The model improves on every task we tried here.", 1),
    ]
    kinds = [(p.kind, p.text) for p in set_apart(pieces)]
    assert ("FigureCaption", "Table 1: A comparison of corpora.") in kinds
    assert ("Footnote", "10https://github.com/kermitt2/grobid") in kinds
    assert ("NarrativeText", "We then use GROBID for parsing as described.") in kinds
    assert ("NarrativeText", "As shown in Figure 3. The model improves on every task we tried here.") in kinds


def test_two_columns_read_left_then_right_between_full_width_elements():
    """pdfminer handed S2ORC's right-column heading "2.2" over before the left column's text."""

    def piece(text, x0, top, x1, kind="NarrativeText"):
        return Piece(kind, text, 3, bbox=(x0, top, x1, top + 40))

    stream = [
        piece("Table 1 spans both columns", 72, 60, 526),
        piece("2.1 Processing PDFs", 72, 170, 174, "Title"),
        piece("We process PDFs from the corpus.", 72, 190, 290),
        piece("2.2 Processing LATEX source", 307, 210, 453, "Title"),
        piece("LATEX source is available for arXiv.", 307, 230, 526),
        piece("Extracting structured data from PDFs with GROBID.", 72, 390, 290),
        piece("Figure 2 spans both columns at the foot", 72, 700, 526),
    ]
    assert [p.text[:8] for p in column_order(stream)] == [
        "Table 1 ", "2.1 Proc", "We proce", "Extracti", "2.2 Proc", "LATEX so", "Figure 2"
    ]
    with_sizes = [replace(p, font_size=10.0) for p in stream]  # pdfium: its own order is kept
    assert column_order(with_sizes) == with_sizes


def test_chinese_captions_are_captions_too():
    pieces = set_apart([
        Piece("Title", "2 方法", 2),
        Piece("NarrativeText", "图 1：引用图增强检索的流程。", 2),
        Piece("NarrativeText", "如图 1 所示，我们首先检索片段，然后沿引用边扩展。", 2),
    ])
    assert [p.kind for p in pieces] == ["Title", "FigureCaption", "NarrativeText"]
    assert build_sections(pieces, HeadingRules()).sections[-1].title == "Figure 1 (caption)"


def test_layout_tells_table_text_and_footnotes_from_body():
    """With font sizes: small print that is not prose is table/figure text; small print with a mark
    at the foot of the page is a footnote; a body line split off by a superscript stays body."""
    body = "We process PDFs from the Semantic Scholar corpus using two parsers and compare their output carefully. "

    def piece(text, size, top, kind="NarrativeText"):
        return Piece(kind, text, 3, font_size=size, bbox=(72.0, top, 290.0, top + 10))

    pieces = [
        piece("2 Method", 12.0, 60, "Title"),
        piece(body * 3, 10.9, 80),
        piece("Corpus Papers w/ body text Citation contexts", 8.5, 200),
        piece("S2ORC 8.1M 1.5M 2.6M 25k 1.0M", 8.5, 215),
        piece("Table 1: A comparison of S2ORC with other corpora.", 10.0, 230),
        piece(body, 10.9, 260),
        piece("and GROBID v0.5.5", 8.7, 275),
        piece(body * 2, 10.9, 290),
        piece("9 See https://github.com/allenai/science-parse for the code we used", 9.0, 700),
    ]
    kinds = [p.kind for p in set_apart(pieces)]
    assert kinds == [
        "Title", "NarrativeText", "Table", "Table", "FigureCaption", "NarrativeText", "NarrativeText", "NarrativeText",
        "Footnote",
    ]


def test_without_sizes_a_run_of_cells_is_table_text_but_a_list_is_not():
    pieces = [Piece("Title", "3 Results", 4), Piece("NarrativeText", "The results follow in the table below.", 4)]
    pieces += [Piece("Title", cell, 4) for cell in ("Corpus", "Papers w/ body text", "Linked to graph", "yes yes no")]
    pieces += [Piece("ListItem", "1) Process PDFs,", 4), Piece("ListItem", "2) Select metadata,", 4)]
    kinds = [p.kind for p in set_apart(pieces)]
    assert kinds == ["Title", "NarrativeText", "Table", "Table", "Table", "Table", "ListItem", "ListItem"]


def test_asides_become_labelled_sections_after_the_body():
    pieces = set_apart([
        Piece("Title", "1 Introduction", 1),
        Piece("NarrativeText", "Science builds on the past work of others, and readers follow citations.", 1),
        Piece("NarrativeText", "Figure 2: [Left] Unexplored citations are highlighted.", 2),
        Piece("NarrativeText", "This is especially challenging during literature reviews of many papers.", 2),
    ])
    outline = build_sections(pieces, HeadingRules())
    assert [(s.title, s.kind) for s in outline.sections] == [
        ("1 Introduction", "body"), ("Figure 2 (caption)", "caption")
    ]
    assert "Figure 2" not in outline.sections[0].text and len(outline.sections[0].blocks) == 2


def test_the_detector_tells_debris_from_references_to_it():
    assert find_debris("as shown in Figure 3. The model improves.") == set()
    assert find_debris("We compare our runs [12, 24, 26, 29, 38, 47, 63] with the rest.") == set()
    assert find_debris("applications below. cs.CV stat.ML The combination") == {"arxiv_category"}
    assert find_debris("to select 9https://github.com/allenai/science-parse") == {"footnote"}
    assert find_debris("no no Table 1: A comparison of S2ORC") == {"caption"}
    assert find_debris("Table 1: A comparison of S2ORC", kind="caption") == set()

