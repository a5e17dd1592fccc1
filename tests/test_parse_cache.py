"""The parse cache: Open WebUI's document loader (PUT /process) parses an upload once, and the
library's ingest of the same bytes takes that parse instead of parsing again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scholargraph.errors import EmbeddingError, ParseError, StoreError
from scholargraph.faces.openwebui.loader import process_upload, user_filename
from scholargraph.ingest_ray import parse_bytes, settings_for_worker, worker_settings
from scholargraph.library import Library
from scholargraph.parsing import parse_file_with_stats, pipeline
from scholargraph.parsing.parse_cache import ParseCache
from scholargraph.settings import ParsingSettings, Settings

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
    assert paper.origin == str(stored) and paper.title == docs[0]["metadata"]["title"]
    assert [s.title for s in paper.sections if s.text.strip()] == [d["metadata"]["section"] for d in docs]
    assert len(cache) == 1  # kept until the ingest has committed the paper

    cache.forget(paper.content_hash)
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


def _stored_copy(tmp_path: Path, source: Path) -> Path:
    """Open WebUI's own copy of an uploaded file, the path its Event function ingests."""
    stored = tmp_path / "openwebui-uploads" / f"{UUID}_{source.name}"
    stored.parent.mkdir(exist_ok=True)
    shutil.copy(source, stored)
    return stored


@pytest.mark.parametrize("down", ["embedder", "graph"])
def test_an_ingest_that_fails_after_the_parse_leaves_it_for_the_retry(
        tmp_path: Path, settings: Settings, shared_data: Path, parses: list[str], monkeypatch, down: str):
    sample = shared_data / "docs" / "sample.md"
    process_upload(upload(tmp_path, sample, "a"), "graph paper.md", "text/markdown", settings)
    stored = _stored_copy(tmp_path, sample)
    cache = ParseCache(settings.parsing.cache_folder, settings.parsing.cache_ttl_s)
    library = Library(settings)
    with monkeypatch.context() as broken:
        if down == "embedder":  # vLLM down
            def refuse(texts):
                raise EmbeddingError("vLLM at http://vllm:8000 did not answer")
            broken.setattr(library.embedder, "embed_documents", refuse)
        else:
            def locked(*args, **kwargs):
                raise StoreError("database is locked")
            broken.setattr(library.graph, "add_paper", locked)
        failed = library.ingest([stored], scope="kb")
    assert failed.failed and not failed.added
    assert library.paper_count() == 0 and library.store.count() == 0  # nothing of the paper landed
    assert len(cache) == 1  # the loader's parse waits for the retry

    retried = library.ingest([stored], scope="kb")
    assert retried.added == [str(stored)] and library.paper_count() == 1
    assert parses == ["graph_paper.md"]  # the retry did not parse again
    assert len(cache) == 0  # committed: the entry has done its job
    library.close()


def test_a_parse_of_a_paper_already_in_the_scope_is_dropped(tmp_path: Path, settings: Settings, shared_data: Path,
                                                            parses: list[str]):
    sample = shared_data / "docs" / "sample.md"
    stored = _stored_copy(tmp_path, sample)
    library = Library(settings)
    assert library.ingest([stored], scope="kb").added
    process_upload(upload(tmp_path, sample, "a"), "again.md", "text/markdown", settings)  # uploaded again
    cache = ParseCache(settings.parsing.cache_folder, settings.parsing.cache_ttl_s)
    assert len(cache) == 1
    assert library.ingest([stored], scope="kb").skipped == [str(stored)]
    assert len(cache) == 0
    library.close()


def _age(entry: Path, settings: Settings) -> None:
    old = time.time() - settings.parsing.cache_ttl_s - 10
    os.utime(entry, (old, old))


def test_the_library_sweep_and_an_ingest_remove_parses_nobody_ingested(tmp_path: Path, settings: Settings,
                                                                       shared_data: Path):
    folder = settings.parsing.cache_folder
    folder.mkdir(parents=True)
    forgotten, fresh = folder / ("ab" * 32 + ".json"), folder / ("cd" * 32 + ".json")
    for entry in (forgotten, fresh):
        entry.write_text("{}")
    _age(forgotten, settings)
    library = Library(settings)
    library.start_sweep().join(timeout=120)  # the service's start-up housekeeping
    assert not forgotten.exists() and fresh.exists()

    forgotten.write_text("{}")
    _age(forgotten, settings)
    library.ingest([_stored_copy(tmp_path, shared_data / "docs" / "sample.md")], scope="kb")
    assert not forgotten.exists() and fresh.exists()
    library.close()


def test_ray_workers_are_told_the_libraries_parse_cache_folder(tmp_path: Path, settings: Settings):
    plain = worker_settings(settings.parsing)
    assert plain["cache_dir"] == str(settings.parsing.cache_folder) and plain["ocr_workers"] == 1
    assert settings_for_worker(plain).cache_folder == settings.parsing.cache_folder
    named = settings.with_overrides({"parsing.cache_dir": str(tmp_path / "shared")})
    assert worker_settings(named.parsing)["cache_dir"] == str(tmp_path / "shared")
    assert worker_settings(ParsingSettings())["cache_dir"] == ""  # no library, no cache


def test_a_ray_worker_parses_with_a_field_more_or_less_than_its_driver(tmp_path: Path, settings: Settings,
                                                                       shared_data: Path, caplog):
    data = (shared_data / "docs" / "sample.md").read_bytes()
    newer = {**worker_settings(settings.parsing), "a_field_from_a_newer_version": 3}
    with caplog.at_level("WARNING", logger="scholargraph.ingest_ray"):
        outcome = parse_bytes("sample.md", data, newer)
    assert outcome.error is None and outcome.paper is not None
    assert outcome.paper.title == "Graph-Augmented Retrieval for Scientific Papers"
    assert "a_field_from_a_newer_version" in caplog.text
    older = worker_settings(settings.parsing)
    del older["pdf_strategy"], older["cache_ttl_s"]
    assert parse_bytes("sample.md", data, older).paper is not None


def test_a_parse_worker_never_imports_sqlalchemy():
    """What a parse worker process imports (the pickled parse_job, the parse path) leaves the graph's
    database layer out: ``scholargraph.graph`` loads PaperGraph on first use."""
    probe = ("import sys; import scholargraph.ingest.parse_stage, scholargraph.parsing.pipeline; "
             "from scholargraph.graph import keys; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'chromadb')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
