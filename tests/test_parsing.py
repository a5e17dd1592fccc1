"""Parsing: what a user sees of their files — printed titles, sections with pages, reference
lists that link papers of one library, OCR of scans, Chinese papers, and clear refusals.

Every shared file is parsed once per session, two at a time in worker processes (the way
ingest runs parse_file, so this also proves it pickles) that have no network at all: any
download or telemetry attempt would fail the parse. The scanned PDF (OCR, ~1.5 min of CPU)
is only parsed when its test (marked ``slow``) is selected; the default run OCRs one small page.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import re
from pathlib import Path

import pytest

from scholargraph.errors import ParseError
from scholargraph.ids import content_hash, paper_id_for
from scholargraph.models import Paper
from scholargraph.parsing import parse_file
from scholargraph.parsing.references import parse_entry
from scholargraph.settings import ParsingSettings

# Titles as printed on page 1 (checked with `pdftotext -f 1 -l 1`).
PRINTED_TITLES = {
    "2020.acl-main.447.pdf": "S2ORC: The Semantic Scholar Open Research Corpus",
    "2023.eacl-main.121.pdf": "LongEval: Guidelines for Human Evaluation of Faithfulness in Long-form Summarization",
    "2203.00130v1.pdf": "Paper Plain: Making Medical Research Papers Approachable to Healthcare Consumers "
    "with Natural Language Processing",
    "2206.10883v3.pdf": "Multi-LexSum: Real-World Summaries of Civil Rights Lawsuits at Multiple Granularities",
    "2302.07302v1.pdf": "CiteSee: Augmenting Citations in Scientific Papers with Persistent and Personalized "
    "Historical Context",
    "2304.02623v1.pdf": "Beyond Summarization: Designing AI Support for Real-World Expository Writing Tasks",
    "layout-parser-paper-fast.pdf": "LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis",
    "papermage.pdf": "PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating "
    "Visually-Rich Scientific Documents",
    "tableformer_acl2022_mineru_demo3.pdf": "TableFormer: Robust Transformer Modeling for Table-Text Encoding",
}
# The arXiv stamp in the margin (or, for the excerpt, the file name) names these.
ARXIV_IDS = {
    "1903.10676.pdf": "1903.10676",
    "2203.00130v1.pdf": "2203.00130",
    "2206.10883v3.pdf": "2206.10883",
    "2302.07302v1.pdf": "2302.07302",
    "2304.02623v1.pdf": "2304.02623",
    "layout-parser-paper-fast.pdf": "2103.15348",
    "tableformer_acl2022_mineru_demo3.pdf": "2203.00274",
    "2020.acl-main.447.pdf": None,
    "2023.eacl-main.121.pdf": None,
    "papermage.pdf": None,
}
SCIBERT_TITLE = "SciBERT: A pretrained language model for scientific text"  # 1903.10676 prints no title
# Who cites whom inside the test library (grep of the reference lists): citing file ->
# [(cited file or None, the cited title when no file prints it, year, arXiv id in the entry)].
CITATIONS = {
    "papermage.pdf": [
        ("2020.acl-main.447.pdf", None, 2020, None),
        ("2302.07302v1.pdf", None, 2023, None),
        ("2203.00130v1.pdf", None, 2023, None),
        ("layout-parser-paper-fast.pdf", None, 2021, None),
        (None, SCIBERT_TITLE, 2019, None),
    ],
    "2304.02623v1.pdf": [
        ("2302.07302v1.pdf", None, 2022, None),  # printed with a bogus id "abs/2022.99999": not an arXiv id
        ("2206.10883v3.pdf", None, 2022, "2206.10883"),
    ],
    "2020.acl-main.447.pdf": [(None, SCIBERT_TITLE, 2019, None)],
    "2302.07302v1.pdf": [(None, SCIBERT_TITLE, 2019, None)],
}
MIN_REFERENCES = {
    "2020.acl-main.447.pdf": 50,
    "2023.eacl-main.121.pdf": 60,
    "2203.00130v1.pdf": 105,
    "2206.10883v3.pdf": 60,
    "2302.07302v1.pdf": 65,
    "2304.02623v1.pdf": 35,
    "papermage.pdf": 48,
    "tableformer_acl2022_mineru_demo3.pdf": 20,
}
DOC_TITLE = "Graph-Augmented Retrieval for Scientific Papers"


def norm(text: str | None) -> str:
    """Case, accents aside: letters and digits only (how titles are compared across papers)."""
    return re.sub(r"[\W_]+", "", (text or "").casefold())


def _no_network() -> None:
    """Worker initializer: sockets refuse to connect or resolve, so parsing must be offline."""
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network disabled in parsing tests")

    socket.socket.connect = refuse
    socket.getaddrinfo = refuse


def _parse(path: str, settings: ParsingSettings | None = None) -> Paper | ParseError:
    """Worker job: the paper, or the ParseError (returned, so one failure does not hide others)."""
    try:
        return parse_file(path, settings)
    except ParseError as exc:
        return exc


@pytest.fixture(scope="session")
def pool():
    context = multiprocessing.get_context("spawn")
    workers = min(2, os.cpu_count() or 1)
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_no_network) as executor:
        yield executor


@pytest.fixture(scope="session")
def jobs(pool, shared_data: Path, request, tmp_path_factory) -> dict[str, cf.Future]:
    """Every shared file submitted once; the OCR jobs first, when an ocr test is selected (the
    8-page scan only for the slow one: ~1.5 min of CPU, so the default run OCRs one small page)."""
    futures: dict[str, cf.Future] = {}
    ocr = [item for item in request.session.items if item.get_closest_marker("ocr")]
    if any(item.get_closest_marker("slow") for item in ocr):
        scanned = shared_data / "scanned" / "small_ocr.pdf"
        futures["scanned"] = pool.submit(_parse, str(scanned))
    if ocr:
        futures["mixed"] = pool.submit(_parse, str(_mixed_pdf(shared_data, tmp_path_factory.mktemp("mixed"))))
    papers = sorted((shared_data / "papers").glob("*.pdf"), key=lambda p: -p.stat().st_size)
    for path in [*papers, shared_data / "papers-zh" / "zh_paper_synthetic.pdf", *sorted((shared_data / "docs").iterdir())]:
        futures[path.name] = pool.submit(_parse, str(path))
    return futures


SCANNED_LINES = ["Scanned appendix", "Citation graphs help retrieval.", "Tesseract reads this page."]


def _mixed_pdf(shared_data: Path, folder: Path) -> Path:
    """Page 1 of a born-digital paper followed by a small image-only page (a 'scanned' appendix)."""
    import pypdf
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1275, 1650), 255)  # Letter at 150 dpi
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(SCANNED_LINES):
        draw.text((100, 150 + 70 * i), line, fill=0, font=ImageFont.load_default(size=36))
    scan = folder / "scan.pdf"
    image.save(scan, resolution=150)
    writer = pypdf.PdfWriter()
    writer.add_page(pypdf.PdfReader(str(shared_data / "papers" / "layout-parser-paper-fast.pdf")).pages[0])
    writer.add_page(pypdf.PdfReader(str(scan)).pages[0])
    path = folder / "mixed.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


@pytest.fixture(scope="session")
def parsed(jobs):
    """name -> Paper (waits for the job)."""

    def get(name: str) -> Paper:
        result = jobs[name].result()
        if isinstance(result, Exception):
            pytest.fail(f"{name} did not parse: {result}")
        return result

    return get


@pytest.mark.parametrize("name", sorted([*PRINTED_TITLES, "1903.10676.pdf"]))
def test_every_paper_parses_into_sections_with_pages(parsed, shared_data, name):
    paper = parsed(name)
    path = shared_data / "papers" / name
    assert paper.content_hash == content_hash(path) and paper.id == paper_id_for(paper.content_hash)
    assert Path(paper.origin).is_absolute() and Path(paper.origin).name == name
    assert paper.sections and all(s.blocks and s.text.strip() for s in paper.sections)
    pages = [b.page for s in paper.sections for b in s.blocks]
    assert None not in pages and all(1 <= p <= paper.pages for p in pages)
    assert len(paper.body_text) > 1000 and paper.language == "en"
    assert pickle.loads(pickle.dumps(paper)) == paper


@pytest.mark.parametrize("name", sorted(PRINTED_TITLES))
def test_title_is_the_one_printed_on_page_one(parsed, name):
    assert norm(parsed(name).title) == norm(PRINTED_TITLES[name])


def test_title_less_excerpt_falls_back_to_its_file_name(parsed):
    paper = parsed("1903.10676.pdf")  # one page of a results table, no title printed
    assert paper.title == "1903.10676"
    assert "SciBERT" in paper.body_text or "SCIBERT" in paper.body_text


@pytest.mark.parametrize("name", sorted(ARXIV_IDS))
def test_arxiv_id_from_the_margin_stamp_or_file_name(parsed, name):
    assert parsed(name).arxiv_id == ARXIV_IDS[name]


def test_front_matter_metadata(parsed):
    s2orc = parsed("2020.acl-main.447.pdf")
    assert s2orc.authors == ["Kyle Lo", "Lucy Lu Wang", "Mark Neumann", "Rodney Kinney", "Daniel S. Weld"]
    assert s2orc.year == 2020 and s2orc.abstract.startswith("We introduce S2ORC")
    citesee = parsed("2302.07302v1.pdf")
    assert citesee.doi == "10.1145/3544548.3580847" and citesee.year == 2023
    assert citesee.authors == [
        "Joseph Chee Chang", "Amy X. Zhang", "Jonathan Bragg", "Andrew Head", "Kyle Lo", "Doug Downey", "Daniel S. Weld"
    ]
    longeval = parsed("2023.eacl-main.121.pdf")  # pdfminer reads it without spaces; pypdf repairs it
    assert longeval.year == 2023 and "Kalpesh Krishna" in longeval.authors
    assert "human evaluation" in longeval.abstract
    plain = parsed("2203.00130v1.pdf")  # ACM journal layout: names in capitals, no Abstract heading
    assert plain.authors[:2] == ["Tal August", "Lucy Lu Wang"] and plain.year == 2022
    assert plain.abstract.startswith("When seeking information")
    assert parsed("2304.02623v1.pdf").authors[0] == "Zejiang Shen"


def test_headings_become_sections_and_page_furniture_goes(parsed):
    titles = [s.title for s in parsed("2302.07302v1.pdf").sections]
    assert "1 INTRODUCTION" in titles and "2.1 Scientific Paper Reading Interfaces" in titles  # run-in headings
    assert "2 CHARACTERIZING EXPOSITORY WRITING" in [s.title for s in parsed("2304.02623v1.pdf").sections]
    s2orc = parsed("2020.acl-main.447.pdf")
    assert "1 Introduction" in [s.title for s in s2orc.sections]  # "1" and "Introduction" come apart
    assert "Proceedingsofthe58th" not in s2orc.body_text and "Chang et al." not in parsed("2302.07302v1.pdf").body_text
    assert "v i X r a" not in parsed("2206.10883v3.pdf").body_text  # the sideways arXiv stamp


@pytest.mark.parametrize("citing", sorted(CITATIONS))
def test_references_to_papers_of_the_library_parse(parsed, citing):
    references = parsed(citing).references
    for cited, title, year, arxiv_id in CITATIONS[citing]:
        expected = parsed(cited).title if cited else title
        found = [r for r in references if norm(r.title) == norm(expected)]
        assert found, f"{citing}: no reference titled {expected!r}"
        assert found[0].year == year and found[0].arxiv_id == arxiv_id


@pytest.mark.parametrize("name", sorted(MIN_REFERENCES))
def test_reference_list_is_split_into_entries_and_kept_out_of_the_body(parsed, name):
    paper = parsed(name)
    assert len(paper.references) >= MIN_REFERENCES[name]
    titled = [r for r in paper.references if r.title and r.year]
    assert len(titled) >= 0.9 * len(paper.references)
    body = norm(paper.body_text)
    leaked = [r.raw[:80] for r in paper.references if norm(r.raw[:80]) in body]
    assert not leaked
    assert not any(re.fullmatch(r"(\d+ )?references", s.title, re.IGNORECASE) for s in paper.sections)


def test_reference_styles():
    cases = {
        "Kyle Lo, Lucy Lu Wang, Mark Neumann, Rodney Kinney, and Daniel Weld. 2020. S2ORC: The semantic scholar "
        "open research corpus. In Proceedings of the 58th Annual Meeting of the ACL, pages 4969–4983.":
            ("S2ORC: The semantic scholar open research corpus", 2020, None),
        "[30] Zejiang Shen, Kyle Lo, Lauren Yu, Nathan Dahlberg, Margo Schlanger, and Doug Downey. 2022. "
        "Multi-LexSum: Real-World Summaries of Civil Rights Lawsuits at Multiple Granularities. arXiv preprint "
        "arXiv:2206.10883 (2022).":
            ("Multi-LexSum: Real-World Summaries of Civil Rights Lawsuits at Multiple Granularities", 2022, "2206.10883"),
        "[1] Iz Beltagy, Matthew E Peters, and Arman Cohan. Longformer: The long-document transformer. arXiv "
        "preprint arXiv:2004.05150, 2020.": ("Longformer: The long-document transformer", 2020, "2004.05150"),
        "Shen, Z., Zhang, R., Dell, M.: LayoutParser: A unified toolkit for deep learning based document image "
        "analysis. In: ICDAR (2021)":
            ("LayoutParser: A unified toolkit for deep learning based document image analysis", 2021, None),
        "J. Smith and A. Jones, “Deep learning for parsing references,” in Proc. ICDAR, 2019, pp. 1–5.":
            ("Deep learning for parsing references", 2019, None),
        "[2] 王小明, 陈静. 基于图神经网络的学术论文推荐研究[J]. 计算机学报, 2021, 44(3): 512-525.":
            ("基于图神经网络的学术论文推荐研究", 2021, None),
        "Kyle Lo, Joseph Chee Chang, et al. 2023. The Semantic Reader Project: Augmenting Scholarly Documents "
        "through AI-Powered Interactive Reading Interfaces. ArXiv, abs/2303.14334.":
            ("The Semantic Reader Project: Augmenting Scholarly Documents through AI-Powered Interactive "
             "Reading Interfaces", 2023, "2303.14334"),
    }
    for raw, (title, year, arxiv_id) in cases.items():
        reference = parse_entry(raw)
        assert (reference.title, reference.year, reference.arxiv_id) == (title, year, arxiv_id), raw
    assert parse_entry("[1] A. Author. 2017. Attention. NeurIPS. doi:10.5555/3295222.3295349.").doi == "10.5555/3295222.3295349"


def test_chinese_paper(parsed):
    paper = parsed("zh_paper_synthetic.pdf")
    assert paper.language == "zh"
    assert paper.title == "基于引用图扩展的科学文献检索增强生成方法"
    assert paper.authors == ["张明", "李华", "王芳"]
    titles = [s.title for s in paper.sections]
    assert "摘要" in titles and "1 引言" in titles and "2 方法" in titles
    assert paper.abstract.startswith("检索增强生成")
    # Chinese paragraphs come out of unstructured as 'Title'; they must stay body text
    assert all(len(t) < 30 for t in titles)
    assert [r.title for r in paper.references][1] == "基于图神经网络的学术论文推荐研究"
    assert "参考文献" not in paper.body_text and "Cohan A" not in paper.body_text


@pytest.mark.parametrize("name", ["sample.docx", "sample.html", "sample.md", "sample.txt"])
def test_office_web_and_text_formats_give_the_same_paper(parsed, name):
    paper = parsed(name)
    assert paper.title == DOC_TITLE and paper.authors == ["Alice Zhang", "Bob Li"]
    assert [s.title for s in paper.sections if s.kind == "body"] == ["Abstract", "1 Introduction"]
    assert paper.abstract.startswith("We study retrieval-augmented generation")
    # the table is kept as text (a section of its own kind where the format marks it as a table)
    assert "0.665" in "\n".join(s.text for s in paper.sections)
    assert paper.language == "en"
    first = paper.references[0]
    assert len(paper.references) == 2 and (first.title, first.year) == ("Fact or Fiction: Verifying Scientific Claims", 2020)
    assert "Wadden" not in paper.body_text


def test_chinese_text_file(parsed):
    paper = parsed("sample_zh.txt")
    assert paper.language == "zh" and paper.title == "基于图增强的科学论文检索"
    assert paper.abstract.startswith("我们研究") and paper.references[0].title == "科学论断验证"


@pytest.mark.slow
@pytest.mark.ocr
def test_scanned_pdf_is_read_by_ocr(parsed):
    paper = parsed("scanned")  # 8 image-only pages (a Chinese book scan), no text layer
    assert paper.pages == 8 and paper.language == "zh"
    text = paper.body_text
    for word in ("商品", "使用价值", "交换价值", "劳动"):
        assert word in text
    pages = {b.page for s in paper.sections for b in s.blocks}
    assert pages <= set(range(1, 9)) and len(pages) >= 6


@pytest.mark.ocr
def test_mixed_pdf_ocrs_only_the_page_without_text(parsed):
    paper = parsed("mixed")
    by_page = {}
    for section in paper.sections:
        for block in section.blocks:
            by_page.setdefault(block.page, []).append(block.text)
    assert "LayoutParser" in paper.title and "Deep Learning" in " ".join(by_page[1])
    assert "Citation graphs help retrieval" in " ".join(by_page.get(2, []))


def _expect_parse_error(path: Path, *words: str, settings: ParsingSettings | None = None) -> None:
    with pytest.raises(ParseError) as caught:
        parse_file(path, settings)
    message = str(caught.value)
    assert path.name in message and "\n" not in message
    assert any(word in message.lower() for word in words), message


def test_bad_inputs_are_refused_with_a_reason(tmp_path, shared_data):
    real = (shared_data / "papers" / "2304.02623v1.pdf").read_bytes()
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    _expect_parse_error(empty, "empty")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(real[:3000])
    _expect_parse_error(truncated, "corrupt", "truncated")
    random_bytes = tmp_path / "photo.pdf"
    random_bytes.write_bytes(os.urandom(5000))
    _expect_parse_error(random_bytes, "not a pdf")
    unsupported = tmp_path / "notes.xyz"
    unsupported.write_text("some notes")
    _expect_parse_error(unsupported, "unsupported")
    fake_docx = tmp_path / "report.docx"
    fake_docx.write_bytes(os.urandom(2000))
    _expect_parse_error(fake_docx, "not a word document")
    blank_html = tmp_path / "blank.html"
    blank_html.write_text("<html><body><p>   </p></body></html>")
    _expect_parse_error(blank_html, "no text")
    _expect_parse_error(tmp_path / "missing.pdf", "no such file")


def test_encrypted_pdf_is_refused(tmp_path, shared_data):
    import pikepdf

    locked = tmp_path / "locked.pdf"
    with pikepdf.open(shared_data / "papers" / "layout-parser-paper-fast.pdf") as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    _expect_parse_error(locked, "password", "encrypted")


def test_scan_without_ocr_says_so(shared_data):
    scanned = shared_data / "scanned" / "small_ocr.pdf"
    _expect_parse_error(scanned, "no text layer", settings=ParsingSettings(pdf_strategy="fast"))


def test_parse_file_pickles_for_process_pools():
    assert pickle.loads(pickle.dumps(parse_file)) is parse_file


def test_pdf_elements_carry_how_they_were_set(shared_data):
    """The text layer is read with its fonts: the title is the largest text on page 1, headings are
    bold Title elements, page numbers are PageNumber elements, and body text is NarrativeText."""
    from scholargraph.parsing.pdf import read_pdf

    read = read_pdf(shared_data / "papers" / "2020.acl-main.447.pdf", ParsingSettings())
    page_one = [p for p in read.pieces if p.page == 1]
    largest = max(page_one, key=lambda p: p.font_size or 0)
    assert largest.kind == "Title" and largest.text == PRINTED_TITLES["2020.acl-main.447.pdf"]
    heading = next(p for p in page_one if p.text == "1 Introduction")
    assert heading.kind == "Title" and heading.bold and heading.bbox[0] < 100  # left column
    assert any(p.kind == "PageNumber" and p.text == "4969" for p in page_one)
    body = [p for p in read.pieces if p.kind == "NarrativeText"]
    assert sum(len(p.text) for p in body) > 0.8 * sum(len(p.text) for p in read.pieces)
    # the reference pages, line by line, from the same open (for the reference re-reading)
    references = next(n for n in range(1, read.info.pages + 1) if "References" in read.page_text(n).splitlines())
    assert read.page_text(references).count("\n") > 50


def test_unstructured_reader_is_kept_for_comparison(shared_data):
    paper = parse_file(shared_data / "papers" / "2304.02623v1.pdf", ParsingSettings(pdf_reader="unstructured"))
    assert norm(paper.title) == norm(PRINTED_TITLES["2304.02623v1.pdf"]) and len(paper.references) >= 35


def test_pdfs_parse_in_several_threads_at_once(shared_data):
    """A service parses two uploads at once; pdfium is not thread-safe, so parsing must serialise it."""
    paths = [shared_data / "papers" / name for name in ("2304.02623v1.pdf", "layout-parser-paper-fast.pdf")] * 3
    serial = {path.name: parse_file(path) for path in paths}
    with cf.ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(parse_file, paths))
    assert [p.body_text for p in together] == [serial[path.name].body_text for path in paths]


def test_accents_drawn_over_their_letter_are_composed(parsed):
    """TeX draws "Färber" as "Farber" plus a "¨" that pdfium emits after the word."""
    s2orc = parsed("2020.acl-main.447.pdf")
    assert "Saier and Färber (2019)" in s2orc.body_text and "¨" not in s2orc.body_text
    assert any((r.title or "").startswith("unarxive: a large scholarly data set") for r in s2orc.references)
