"""The parse cache: Open WebUI's document loader (PUT /process) parses an upload once, and the
library's ingest of the same bytes takes that parse instead of parsing again."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from scholargraph.errors import ParseError
from scholargraph.faces.openwebui.loader import process_upload, user_filename
from scholargraph.parsing import parse_file_with_stats, pipeline
from scholargraph.parsing.parse_cache import ParseCache
from scholargraph.settings import Settings

UUID = "3f2b8c1e-9d4a-4b7e-8f00-12ab34cd56ef"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Names of the files really parsed (text extracted), not taken from the cache."""
    seen: list[str] = []
    markup, pdf = pipeline._extract_markup, pipeline._extract_pdf

    def count_markup(path, suffix):
        seen.append(path.name)
        return markup(path, suffix)

    def count_pdf(path, settings):
        seen.append(path.name)
        return pdf(path, settings)

    monkeypatch.setattr(pipeline, "_extract_markup", count_markup)
    monkeypatch.setattr(pipeline, "_extract_pdf", count_pdf)
    return seen


def upload(tmp_path: Path, source: Path, name: str) -> Path:
    """A received upload as the service spools it: bytes in a file of its own."""
    incoming = tmp_path / "incoming"
    incoming.mkdir(exist_ok=True)
    target = incoming / f"spool-{name}"
    shutil.copy(source, target)
    return target


def test_cache_folder_follows_the_data_dir_unless_named(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "a")
    assert settings.parsing.cache_folder == tmp_path / "a" / "parsed"
    assert settings.with_overrides({"data_dir": str(tmp_path / "b")}).parsing.cache_folder == tmp_path / "b" / "parsed"
    shared = settings.with_overrides({"parsing.cache_dir": str(tmp_path / "shared")})
    assert shared.parsing.cache_folder == tmp_path / "shared"


def test_the_loaders_parse_is_the_one_the_ingest_takes(tmp_path: Path, settings: Settings, shared_data: Path,
                                                         parses: list[str]):
    sample = shared_data / "docs" / "sample.md"
    docs = process_upload(upload(tmp_path, sample, "a"), f"{UUID}_graph paper.md", "text/markdown", settings)
    assert docs and docs[0]["metadata"]["title"] == "Graph-Augmented Retrieval for Scientific Papers"
    assert parses == ["graph_paper.md"]
    cache = ParseCache(settings.parsing.cache_folder, settings.parsing.cache_ttl_s)
    assert len(cache) == 1

    stored = tmp_path / "openwebui-uploads" / f"{UUID}_graph paper.md"  # Open WebUI's own copy of the bytes
    stored.parent.mkdir()
    shutil.copy(sample, stored)
    paper, stats = parse_file_with_stats(stored, settings.parsing)
    assert stats.cached and parses == ["graph_paper.md"]  # no second parse
    assert paper.source == str(stored) and paper.title == docs[0]["metadata"]["title"]
    assert [s.title for s in paper.sections if s.text.strip()] == [d["metadata"]["section"] for d in docs]
    assert len(cache) == 0  # taken: the ingest keeps the paper, the cache forgets it

    again, stats = parse_file_with_stats(stored, settings.parsing)
    assert not stats.cached and parses == ["graph_paper.md", f"{UUID}_graph paper.md"]
    assert again.sections == paper.sections


def test_the_same_bytes_uploaded_again_are_not_parsed_again(tmp_path: Path, settings: Settings, shared_data: Path,
                                                            parses: list[str]):
    sample = shared_data / "docs" / "sample.md"
    process_upload(upload(tmp_path, sample, "a"), "first.md", "text/markdown", settings)
    process_upload(upload(tmp_path, sample, "b"), "second.md", "text/markdown", settings)
    assert parses == ["first.md"]
    assert len(ParseCache(settings.parsing.cache_folder, 60)) == 1


def test_a_broken_upload_names_the_users_file_and_leaves_nothing(tmp_path: Path, settings: Settings):
    broken = tmp_path / "random.bin"
    broken.write_bytes(os.urandom(4096))
    with pytest.raises(ParseError) as caught:
        process_upload(broken, f"{UUID}_my scan.pdf", "application/pdf", settings)
    assert str(caught.value).startswith("my scan.pdf: ") and UUID not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not broken.exists() and list(broken.parent.glob("process-*")) == []
    assert len(ParseCache(settings.parsing.cache_folder, 60)) == 0
    assert user_filename(f"{UUID}_a_b.pdf") == "a_b.pdf" and user_filename("plain_name.pdf") == "plain_name.pdf"


def test_stale_foreign_and_unreadable_entries_are_never_used(tmp_path: Path, settings: Settings, shared_data: Path,
                                                             parses: list[str]):
    sample = shared_data / "docs" / "sample.md"
    process_upload(upload(tmp_path, sample, "a"), "sample.md", "text/markdown", settings)
    folder = settings.parsing.cache_folder
    entry = next(folder.glob("*.json"))
    record = json.loads(entry.read_text())

    old = time.time() - settings.parsing.cache_ttl_s - 10
    os.utime(entry, (old, old))
    _, stats = parse_file_with_stats(sample, settings.parsing)
    assert not stats.cached and not entry.exists()  # expired: parsed afresh, the entry gone

    entry.write_text(json.dumps(record | {"version": "0.0.0-older"}))
    assert not parse_file_with_stats(sample, settings.parsing)[1].cached  # another parser version
    entry.write_text("{not json")
    assert not parse_file_with_stats(sample, settings.parsing)[1].cached
    assert not entry.exists()


def test_put_sweeps_entries_nobody_ingested(tmp_path: Path, settings: Settings, shared_data: Path):
    folder = settings.parsing.cache_folder
    folder.mkdir(parents=True)
    forgotten = folder / ("ab" * 32 + ".json")
    forgotten.write_text("{}")
    half_written = folder / ".abcd-x.tmp"
    half_written.write_text("")
    old = time.time() - settings.parsing.cache_ttl_s - 10
    for item in (forgotten, half_written):
        os.utime(item, (old, old))
    process_upload(upload(tmp_path, shared_data / "docs" / "sample.md", "a"), "sample.md", None, settings)
    assert not forgotten.exists() and not half_written.exists()
    assert len(ParseCache(folder, 60)) == 1
