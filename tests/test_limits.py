"""Limits on one file: a PDF past ``parsing.max_pages`` or ``parsing.timeout_s`` fails with one
line and leaves the library as it was; a long file reports progress from inside; a scan attached
to an Open WebUI chat is read in the background instead of holding the chat."""

from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from scholargraph.faces import openwebui as sg
from scholargraph.library import Library

REPO = Path(__file__).resolve().parents[1]


def _pdf(path: Path, pages: int, text: bool = False) -> Path:
    """A PDF of ``pages`` pages, blank or with a line of text each."""
    if text:
        from reportlab.pdfgen import canvas

        drawing = canvas.Canvas(str(path))
        for n in range(pages):
            drawing.drawString(72, 720, f"Page {n + 1} of a long report about citation graphs and dense retrieval.")
            drawing.showPage()
        drawing.save()
        return path
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(612, 792)
    document.save(str(path))
    document.close()
    return path


def test_a_pdf_past_max_pages_fails_in_one_line_and_stores_nothing(settings, tmp_path):
    big = _pdf(tmp_path / "big.pdf", 5)
    library = Library(settings.with_overrides({"parsing.max_pages": 3}))
    started = time.perf_counter()
    report = library.ingest([big])
    assert time.perf_counter() - started < 10
    assert report.added == [] and len(report.failed) == 1
    message = report.failed[0][1]
    assert "\n" not in message
    assert message.startswith("big.pdf: 5 pages, more than parsing.max_pages (3)")
    assert library.papers(["default"]) == []


def test_a_scan_past_the_timeout_fails_quickly_and_stores_nothing(settings, shared_data):
    scan = shared_data / "scanned" / "small_ocr.pdf"
    library = Library(settings.with_overrides({"parsing.timeout_s": 0.001}))
    started = time.perf_counter()
    report = library.ingest([scan])
    assert time.perf_counter() - started < 30  # OCR of its 8 pages takes minutes
    assert report.added == [] and len(report.failed) == 1
    message = report.failed[0][1]
    assert message.startswith("small_ocr.pdf: not read within parsing.timeout_s (0.001 s")
    assert "nothing of it was stored" in message and "\n" not in message
    assert library.papers(["default"]) == []


def test_a_long_pdf_reports_progress_from_inside(settings, tmp_path):
    long = _pdf(tmp_path / "long.pdf", 230, text=True)
    library = Library(settings.with_overrides({"parsing.max_pages": 200}))
    assert library.ingest([long]).failed  # refused before reading: no progress lines
    events = []
    library = Library(settings)
    library.ingest([long], progress=events.append)
    inside = [e.message for e in events if e.status == "parsing"]
    assert inside == ["long.pdf: read 100 of 230 pages", "long.pdf: read 200 of 230 pages"]
    assert events[-1].status in ("added", "failed") and events[-1].done == 1


# -- Open WebUI: a scan attached to a chat ----------------------------------------------------
def _filter_valves(tmp_path: Path):
    path = REPO / "plugin" / "openwebui" / "scholargraph_filter.py"
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Filter.Valves(data_dir=str(tmp_path / "library"))


def test_a_scan_attached_to_a_chat_is_read_in_the_background(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("SCHOLARGRAPH_PARSING__CHAT_OCR_BUDGET_S", "5")
    monkeypatch.setenv("SCHOLARGRAPH_PARSING__TIMEOUT_S", "0.5")  # the background read then fails fast
    record = SimpleNamespace(id="f-scan", filename="scan.pdf", meta={"name": "scan.pdf"},
                             path=str(shared_data / "scanned" / "small_ocr.pdf"))

    async def readable(user, kbs, files):
        return set(), set(files)

    async def openwebui_file(file_id):
        return record, record.path

    async def mark_file(file_id, **state):
        record.meta["scholargraph"] = state

    for fn in (readable, openwebui_file, mark_file):
        monkeypatch.setattr(sg.access, fn.__name__, fn)
    valves = _filter_valves(tmp_path)

    async def chat() -> tuple[list[str], dict]:
        events: list[dict] = []

        async def emitter(event):
            events.append(event)

        body = {"model": "m", "messages": [{"role": "user", "content": "What does the scan say?"}],
                "files": [{"type": "file", "id": "f-scan", "name": "scan.pdf"}]}
        out = await sg.filter_inlet(body, valves=valves, user={"id": "alice"}, emitter=emitter)
        return [e["data"]["description"] for e in events], out

    async def scenario() -> None:
        sg.WRITE_LOCK.acquire()  # another indexing holds the library: the background read must wait
        try:
            started = time.perf_counter()
            lines, out = await chat()
            assert time.perf_counter() - started < 5
            assert lines[-1] == ("ScholarGraph: scan.pdf: 8 scanned pages are being read (OCR), about 1 minute; "
                                 "ask again then")
            assert out["files"] == [{"type": "file", "id": "f-scan", "name": "scan.pdf"}]  # Open WebUI's own
            task = sg.indexing.background_task(sg.file_scope("f-scan"), "f-scan")
            assert task is not None
            assert not task.done()
            lines, _ = await chat()  # asked again too early: no second read
            assert lines[-1] == "ScholarGraph: scan.pdf: still being read (OCR); ask again in a minute"
        finally:
            sg.WRITE_LOCK.release()
        await asyncio.wait_for(task, 60)
        state = record.meta["scholargraph"]
        assert state["status"] == "failed" and "parsing.timeout_s" in state["error"]
        lines, _ = await chat()  # the next question hears the outcome
        assert "scan.pdf: not read within parsing.timeout_s" in lines[-1]

    asyncio.run(scenario())


def test_an_open_webui_upload_is_parsed_before_the_write_lock_and_only_once(tmp_path, shared_data, monkeypatch):
    """OCR takes minutes: Open WebUI's other uploads must not wait for it behind the write lock."""
    import scholargraph.parsing
    from scholargraph.parsing import pipeline
    from scholargraph.settings import Settings

    real = pipeline.parse_file_with_stats
    parses: list[bool] = []  # for each real parse: was the write lock held?

    def parse(path, settings=None, digest=None):
        paper, stats = real(path, settings, digest)
        if not stats.cached:  # the ingest's read of the parse cache is no parse
            parses.append(sg.WRITE_LOCK.locked())
        return paper, stats

    monkeypatch.setattr(pipeline, "parse_file_with_stats", parse)  # parse_ahead's
    monkeypatch.setattr(scholargraph.parsing, "parse_file_with_stats", parse)  # the ingest's
    library = Library(Settings(data_dir=tmp_path / "library"))
    paper = tmp_path / "f-1_notes.md"
    paper.write_bytes((shared_data / "docs" / "sample.md").read_bytes())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:  # Open WebUI sends an upload's two events at once
        reports = list(pool.map(lambda _: sg.indexing._ingest_file(library, str(paper), "f-1", "notes.md", "kb:k1"),
                                range(2)))
    done = [r for r in reports if r is not None]
    assert len(done) == 1 and len(done[0].added) == 1 and not done[0].failed  # the other found it recorded
    assert parses == [False]  # parsed once, outside the lock; the ingest under it took the parse

    broken = tmp_path / "f-2_broken.pdf"
    broken.write_bytes(b"not a pdf at all")
    report = sg.indexing._ingest_file(library, str(broken), "f-2", "broken.pdf", "kb:k1")
    assert report is not None and report.failed and "broken.pdf" in report.failed[0][1]
    assert library.paper_count(["kb:k1"]) == 1


@pytest.mark.parametrize("pages,budget,background", [(8, 20.0, True), (1, 20.0, False)])
def test_the_chat_budget_counts_pages_to_ocr(pages, budget, background):
    from scholargraph.parsing.pdf import OCR_SECONDS_PER_PAGE, ocr_seconds_estimate
    from scholargraph.settings import ParsingSettings

    settings = ParsingSettings(chat_ocr_budget_s=budget, ocr_workers=2)
    seconds = ocr_seconds_estimate(pages, settings)
    assert seconds == pytest.approx(pages * OCR_SECONDS_PER_PAGE / min(pages, 2))
    assert (seconds > settings.chat_ocr_budget_s) is background


@pytest.mark.slow
@pytest.mark.ocr
def test_each_ocr_page_is_reported_and_the_deadline_holds_between_pages(tmp_path, shared_data):
    import pypdfium2 as pdfium

    from scholargraph.errors import ParseError
    from scholargraph.parsing import parse_file
    from scholargraph.parsing.pdf import page_progress
    from scholargraph.settings import ParsingSettings

    scan = pdfium.PdfDocument(str(shared_data / "scanned" / "small_ocr.pdf"))
    two = pdfium.PdfDocument.new()
    two.import_pages(scan, [0, 1])
    two.save(str(tmp_path / "two.pdf"))
    two.close()
    scan.close()
    lines: list[str] = []
    with page_progress(lines.append):
        parse_file(tmp_path / "two.pdf", ParsingSettings(ocr_workers=1))
    assert lines == ["two.pdf: OCR of page 1 of 2 done", "two.pdf: OCR of page 2 of 2 done"]
    lines.clear()
    started = time.perf_counter()
    with page_progress(lines.append), pytest.raises(ParseError, match="stopped before OCR of page 2"):
        parse_file(tmp_path / "two.pdf", ParsingSettings(ocr_workers=1, timeout_s=2))  # page 1 alone takes longer
    assert lines == ["two.pdf: OCR of page 1 of 2 done"] and time.perf_counter() - started < 60


def test_the_cli_progress_prints_lines_from_inside_a_file(tmp_path):
    from io import StringIO

    from rich.console import Console

    from scholargraph.faces.cli.ingest_progress import IngestProgress
    from scholargraph.models import IngestEvent

    out = StringIO()
    with IngestProgress(Console(file=out, force_terminal=False, width=200), [tmp_path / "long.pdf"], lambda _: (0, 0)) as show:
        show(IngestEvent(str(tmp_path / "long.pdf"), "parsing", "long.pdf: read 100 of 230 pages", 0, 1))
    assert "[0/1] parsing: long.pdf: read 100 of 230 pages" in out.getvalue()
