"""ScholarGraph as Open WebUI's External document loader, the documented setup: every upload is
parsed once, by the service's PUT /process (scans by OCR, errors that name the file), and the
Event function files that same parse into the knowledge base instead of parsing again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from owui import KB, PAPERS, Loader, OpenWebUI, scanned_page, upload, wait_indexed
from test_openwebui import chat, scholargraph_sources

pytestmark = pytest.mark.openwebui


def cached_parses(owui: OpenWebUI) -> list[Path]:
    return sorted(owui.parse_cache.glob("*.json"))


def test_uploads_are_parsed_by_the_scholargraph_service(owui: OpenWebUI, admin: str, loader: Loader,
                                                        functions: dict, shared_data: Path):
    """Open WebUI's own upload processing calls PUT /process (its real client) with the stored name."""
    before = len(loader.calls)
    record = upload(owui, admin, shared_data / "docs" / "sample.md")
    content = owui.ok("GET", f"/api/v1/files/{record['id']}/data/content", admin)["content"]
    assert "1 Introduction" in content and "citation network" in content
    calls = [c for c in loader.calls[before:] if c["path"] == "/process"]
    assert [(c["method"], c["status"]) for c in calls] == [("PUT", 200)]
    assert calls[0]["filename"] == f"{record['id']}_sample.md"


def test_each_knowledge_upload_is_parsed_once(owui: OpenWebUI, loader: Loader, kb: KB, shared_data: Path):
    """Parsed by the loader, taken by the Event function's ingest; Open WebUI's second event for the
    same upload (retrieval.content.processed, then knowledge.file.added) reads nothing."""
    for name, file_id in kb.files.items():
        stored = f"{file_id}_{name}"  # Open WebUI's name for the upload, what its Event function ingests
        assert loader.parsed.count(name) == 1, (name, loader.parsed)
        assert len(owui.log_lines(f"{stored}: parse taken from the parse cache")) == 1, owui.log_tail()
        assert owui.log_lines(f"{stored}: parsed,") == []  # no parse inside Open WebUI
        assert len(owui.log_lines(f"added: {name}: ")) == 1
        assert owui.log_lines(f"skipped: {name}: already indexed"), owui.log_tail()  # the second event
    print(f"parses: {len(loader.parsed)} in the loader for {len(PAPERS)} knowledge uploads, "
          f"{len(owui.log_lines('parse taken from the parse cache'))} taken from the cache by Open WebUI, "
          f"{len(owui.log_lines(': parsed,'))} in Open WebUI")
    waiting = {p.stem for p in cached_parses(owui)}  # a chat file's parse waits until a chat uses it
    for name in kb.files:  # the knowledge uploads' parses were taken
        assert hashlib.sha256((shared_data / "papers" / name).read_bytes()).hexdigest() not in waiting



def test_a_scanned_pdf_in_a_knowledge_base_is_read_by_ocr_and_searchable(
        owui: OpenWebUI, admin: str, loader: Loader, functions: dict, shared_data: Path, tmp_path: Path):
    scan = scanned_page(shared_data, tmp_path / "scanned-page.pdf", 0)
    knowledge = owui.ok("POST", "/api/v1/knowledge/create", admin, json={"name": "Scanned books", "description": "OCR"})
    record = upload(owui, admin, scan)
    owui.ok("POST", f"/api/v1/knowledge/{knowledge['id']}/file/add", admin, json={"file_id": record["id"]})
    state = wait_indexed(owui, admin, [record["id"]])[record["id"]]
    # Open WebUI runs its functions with parsing.pdf_strategy 'fast', which fails a scan ('no text
    # layer'): indexed means the Event function took the loader's OCR parse, as the counts say
    assert loader.parsed.count("scanned-page.pdf") == 1
    assert owui.log_lines(f"{record['id']}_scanned-page.pdf: parse taken from the parse cache")
    content = owui.ok("GET", f"/api/v1/files/{record['id']}/data/content", admin)["content"]
    line = max(content.splitlines(), key=len).strip()
    assert len(line) >= 10, content  # the page's words, from OCR

    reply = chat(owui, admin, line[:40], [{"type": "collection", "id": knowledge["id"]}])
    sources = scholargraph_sources(reply)
    assert [s["source"]["name"] for s in sources] == [state["title"]], reply


def test_a_broken_pdf_is_refused_with_an_error_naming_the_file(owui: OpenWebUI, admin: str, loader: Loader,
                                                               functions: dict, tmp_path: Path):
    broken = tmp_path / "broken-paper.pdf"
    broken.write_bytes(os.urandom(20_000))
    before = len(loader.calls)
    record = upload(owui, admin, broken, fails=True)
    error = record["process"].get("error") or ""
    assert "broken-paper.pdf: " in error and record["id"] not in error, error  # the user's name, no storage prefix
    assert [c["status"] for c in loader.calls[before:] if c["path"] == "/process"] == [422]
    assert hashlib.sha256(broken.read_bytes()).hexdigest() not in {p.stem for p in cached_parses(owui)}
