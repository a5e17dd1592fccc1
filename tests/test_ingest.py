"""Ingest as a new user meets it: the shared papers land whole, with titles, citations and idempotence."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import pikepdf
from typer.testing import CliRunner

from conftest import paper_id_by_file
from scholargraph.faces.cli import app
from scholargraph.library import Library

TITLES = {
    "2020.acl-main.447.pdf": "S2ORC: The Semantic Scholar Open Research Corpus",
    "2302.07302v1.pdf": "CiteSee: Augmenting Citations in Scientific Papers with Persistent and Personalized Historical Context",
    "2206.10883v3.pdf": "Multi-LexSum: Real-World Summaries of Civil Rights Lawsuits at Multiple Granularities",
    "2304.02623v1.pdf": "Beyond Summarization: Designing AI Support for Real-World Expository Writing Tasks",
    "papermage.pdf": "PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating Visually-Rich Scientific Documents",
    "layout-parser-paper-fast.pdf": "LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis",
    "2203.00130v1.pdf": "Paper Plain: Making Medical Research Papers Approachable to Healthcare Consumers with Natural Language Processing",
    "2023.eacl-main.121.pdf": "LongEval: Guidelines for Human Evaluation of Faithfulness in Long-form Summarization",
    "tableformer_acl2022_mineru_demo3.pdf": "TableFormer: Robust Transformer Modeling for Table-Text Encoding",
}

# Citations that stand in reference lists between these papers (checked by reading them).
CITES = {
    ("2304.02623v1.pdf", "2206.10883v3.pdf"),  # Beyond Summarization -> Multi-LexSum
    ("2304.02623v1.pdf", "2302.07302v1.pdf"),  # Beyond Summarization -> CiteSee
    ("papermage.pdf", "2020.acl-main.447.pdf"),  # PaperMage -> S2ORC
    ("papermage.pdf", "layout-parser-paper-fast.pdf"),  # PaperMage -> LayoutParser
    ("papermage.pdf", "2302.07302v1.pdf"),  # PaperMage -> CiteSee ("Citesee: Augmenting ...")
    ("papermage.pdf", "2203.00130v1.pdf"),  # PaperMage -> Paper Plain (title split over a page break)
}
# The SciBERT file is a one-page table excerpt with no title printed on it: the three references
# to SciBERT (S2ORC, CiteSee, PaperMage) carry no DOI or arXiv id, so nothing can resolve them.


def _norm(text: str) -> str:
    return " ".join(text.replace("-", " ").lower().split())


def test_all_ten_papers_and_the_chinese_paper_ingest(full_library):
    report = full_library.first_report
    assert report.failed == []
    assert len(report.added) == 11
    assert report.chunks > 100
    assert report.ocr_pages == 0  # every page of these has a text layer: none goes to OCR


def test_every_chunk_has_a_section_and_a_page_and_none_is_a_reference(full_library):
    import re

    def norm(text: str) -> str:
        return re.sub(r"[\W_]+", "", text.casefold())

    for path, pid in full_library.first_report.paper_ids.items():
        chunks = full_library.store.paper_chunks(pid, "lib")
        assert chunks["ids"], path
        for meta in chunks["metadatas"]:
            assert meta.get("section") and meta.get("page_start"), (path, meta)
            assert not re.fullmatch(r"(\d+\.? )?(references|bibliography|参考文献)", meta["section"], re.I), path
        text = norm(" ".join(chunks["documents"]))
        if path.endswith(".pdf"):
            raws = [r["raw"] for r in full_library.graph.references_of(pid)]
            leaked = [r for r in raws if len(norm(r)) > 40 and norm(r)[:60] in text]
            assert not leaked, (path, leaked[:2])


def test_printed_titles_become_paper_titles(full_library):
    papers = {p["id"]: p for p in full_library.papers()}
    for name, title in TITLES.items():
        got = papers[paper_id_by_file(full_library, name)]["title"]
        assert _norm(got) == _norm(title), name


def test_reference_list_citations_are_edges_and_running_text_mentions_are_not(full_library):
    ids = {name: paper_id_by_file(full_library, name) for name in {n for pair in CITES for n in pair}}
    edges = {(e["source"], e["target"]) for e in full_library.graph_json()["edges"] if e["kind"] == "cites"}
    for citing, cited in CITES:
        assert (ids[citing], ids[cited]) in edges, f"{citing} should cite {cited}"
    # S2ORC's running text mentions CiteSeerX, Beyond Summarization's its own title: no extra edges.
    expected = {(ids[a], ids[b]) for a, b in CITES}
    assert edges == expected


@pytest.mark.slow
@pytest.mark.ocr
def test_scanned_pdf_is_read_by_ocr_with_pages(settings, shared_data):
    library = Library(settings)
    try:
        report = library.ingest([shared_data / "scanned"], scope="lib")
        pid = report.paper_ids[str(shared_data / "scanned" / "small_ocr.pdf")]
        chunks = library.store.paper_chunks(pid, "lib")
    finally:
        library.close()
    assert len(chunks["ids"]) >= 3
    assert sum(len(t) for t in chunks["documents"]) > 2000
    assert max(m.get("page_start", 0) for m in chunks["metadatas"]) > 1
    # all 8 image-only pages went to OCR
    assert report.ocr_pages == 8 and report.ocr_seconds > 0


@pytest.fixture
def embed_calls(full_library, monkeypatch) -> list[int]:
    """Batch sizes the shared library embeds during a test (the spy is removed afterwards)."""
    calls: list[int] = []
    embed = full_library.embedder.embed_documents
    monkeypatch.setattr(full_library.embedder, "embed_documents", lambda texts: calls.append(len(texts)) or embed(texts))
    return calls


def test_second_ingest_reembeds_nothing(full_library, shared_data, embed_calls):
    before = full_library.papers()
    report = full_library.ingest([shared_data / "papers", shared_data / "papers-zh"], scope="lib")
    assert embed_calls == []
    assert len(report.skipped) == 11 and not report.added
    assert "skipped 11 already ingested" in report.summary()
    assert full_library.papers() == before


@pytest.fixture
def other_kb(full_library):
    """A second knowledge base on the shared library, deleted again after the test."""
    yield "other-kb"
    full_library.delete_scope("other-kb")
    assert full_library.papers(["other-kb"]) == []


def test_copy_into_another_knowledge_base_reembeds_nothing(full_library, shared_data, embed_calls, other_kb):
    report = full_library.ingest([shared_data / "papers" / "2302.07302v1.pdf"], scope=other_kb)
    assert embed_calls == [] and len(report.copied) == 1
    assert [p["title"][:7] for p in full_library.papers(["other-kb"])] == ["CiteSee"]
    hits = full_library.search("highlighting citations in papers", ["other-kb"], hops=0).hits
    assert hits and {h.paper_id for h in hits} == {paper_id_by_file(full_library, "2302.07302v1.pdf")}


def _bad_files(folder: Path, shared_data: Path) -> dict[str, Path]:
    real = (shared_data / "papers" / "layout-parser-paper-fast.pdf").read_bytes()
    files = {
        "empty.pdf": b"",
        "corrupt.pdf": real[:3000],
        "binary.pdf": bytes(range(256)) * 64,
    }
    out = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    with pikepdf.open(shared_data / "papers" / "layout-parser-paper-fast.pdf") as pdf:
        pdf.save(folder / "encrypted.pdf", encryption=pikepdf.Encryption(user="secret", owner="owner"))
    out["encrypted.pdf"] = folder / "encrypted.pdf"
    return out


def test_bad_files_fail_one_line_each_and_leave_the_library_unchanged(tmp_path, shared_data, settings):
    library = Library(settings)
    library.ingest([shared_data / "docs" / "sample.md"], scope="kb")
    before = (library.stats(), library.papers())
    folder = tmp_path / "bad"
    folder.mkdir()
    bad = _bad_files(folder, shared_data)
    report = library.ingest([folder], scope="kb")
    assert not report.added
    errors = dict(report.failed)
    for name, path in bad.items():
        message = errors[os.path.abspath(path)]
        assert name in message and "\n" not in message
    encrypted = errors[os.path.abspath(bad["encrypted.pdf"])].lower()
    assert "encrypt" in encrypted or "password" in encrypted
    assert (library.stats(), library.papers()) == before
    library.close()


def test_failed_graph_write_leaves_no_vectors(tmp_path, shared_data, settings, monkeypatch):
    library = Library(settings)
    library.ingest([shared_data / "docs" / "sample.md"], scope="kb")
    chunks_before = library.store.count()

    def boom(*args, **kwargs):
        raise __import__("scholargraph.errors").errors.StoreError("graph database down")

    monkeypatch.setattr(library.graph, "add_paper", boom)
    report = library.ingest([shared_data / "docs" / "sample.txt"], scope="kb")
    assert report.failed and "graph database down" in report.failed[0][1]
    assert library.store.count() == chunks_before
    assert len(library.papers()) == 1
    library.close()


def test_citation_resolves_whatever_the_ingest_order_and_delete_unresolves(tmp_path, shared_data, settings):
    citing = shared_data / "papers" / "2304.02623v1.pdf"
    cited = shared_data / "papers" / "2206.10883v3.pdf"
    library = Library(settings)
    first = library.ingest([citing], scope="kb")
    assert not library.graph_json()["edges"] or all(e["kind"] != "cites" for e in library.graph_json()["edges"])
    second = library.ingest([cited], scope="kb")
    a, b = first.paper_ids[str(citing)], second.paper_ids[str(cited)]
    cites = lambda: {(e["source"], e["target"]) for e in library.graph_json()["edges"] if e["kind"] == "cites"}
    assert (a, b) in cites()
    assert library.delete(b)
    assert cites() == set() and library.store.paper_chunks(b)["ids"] == []
    refs = library.graph.references_of(a)
    assert any("Multi-LexSum" in (r["title"] or "") and r["target_paper_id"] is None for r in refs)
    library.ingest([cited], scope="kb")
    assert (a, b) in cites()
    library.close()


def test_cli_lists_papers_and_graph_as_json(tmp_path, shared_data):
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "d")]
    docs = tmp_path / "docs"
    shutil.copytree(shared_data / "docs", docs)
    result = runner.invoke(app, data + ["ingest", str(docs), "--kb", "notes"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(app, data + ["ingest", str(docs), "--kb", "notes"])
    assert "skipped 5 already ingested" in again.output
    papers = json.loads(runner.invoke(app, data + ["papers", "--kb", "notes", "--json"]).stdout)
    assert len(papers) == 5
    assert set(papers[0]) == {"id", "title", "authors", "year", "doi", "arxiv_id", "language", "source", "chunks"}
    assert {p["language"] for p in papers} == {"en", "zh"}
    assert all(Path(p["source"]).parent == Path(os.path.abspath(docs)) for p in papers)
    elsewhere = runner.invoke(app, data + ["papers", "--kb", "elsewhere", "--json"])
    assert elsewhere.exit_code == 1 and "no papers in 'elsewhere'" in elsewhere.output
    graph = json.loads(runner.invoke(app, data + ["graph", "--json"]).stdout)
    assert {n["id"] for n in graph["nodes"]} == {p["id"] for p in papers}
    assert all(set(e) == {"source", "target", "kind", "weight"} for e in graph["edges"])
    assert {e["kind"] for e in graph["edges"]} <= {"cites", "similar", "shares_author"}
    gone = runner.invoke(app, data + ["delete", papers[0]["id"]])
    assert gone.exit_code == 0
    stats = json.loads(runner.invoke(app, data + ["stats", "--json"]).stdout)
    assert stats["papers"] == 4


def test_the_same_paper_from_two_files_stays_until_its_last_file_goes(tmp_path, shared_data, settings):
    """Uploading one PDF twice to a knowledge base, then deleting one copy, keeps the paper."""
    first, second, third = (tmp_path / name for name in ("notes.md", "notes-copy.md", "notes-again.md"))
    for path in (first, second, third):
        shutil.copy(shared_data / "docs" / "sample.md", path)
    library = Library(settings)
    report = library.ingest([first, second], scope="kb")  # duplicates within one run
    assert len(report.added) == 1 and len(report.skipped) == 1
    library.ingest([third], scope="kb")  # and in a later run
    paper_id = report.paper_ids[str(first)]
    assert library.graph.origins_in_scope("kb") == {str(p): [paper_id] for p in (first, second, third)}
    chunks = library.store.count(["kb"])

    assert library.remove_origin("kb", str(first)) == []
    assert library.remove_origin("kb", str(third)) == []
    assert [p["id"] for p in library.papers(["kb"])] == [paper_id]
    assert library.store.count(["kb"]) == chunks
    assert library.search("sample document", ["kb"], hops=0).hits

    assert library.remove_origin("kb", str(second)) == [paper_id]
    assert library.papers(["kb"]) == [] and library.store.count(["kb"]) == 0
    assert library.store.paper_vector(paper_id) is None
    assert library.graph.origins_in_scope("kb") == {}
    library.close()


def test_a_library_from_before_sources_were_recorded_gets_them_on_open(tmp_path, shared_data, settings):
    from sqlalchemy import delete

    from scholargraph.graph.schema import paper_sources

    library = Library(settings)
    report = library.ingest([shared_data / "docs" / "sample.md"], scope="kb")
    paper_id = next(iter(report.paper_ids.values()))
    with library.graph.db.write("simulating an old library") as conn:
        conn.execute(delete(paper_sources))
    library.close()

    reopened = Library(settings)
    assert reopened.graph.origins_in_scope("kb") == {str(shared_data / "docs" / "sample.md"): [paper_id]}
    assert reopened.remove_origin("kb", str(shared_data / "docs" / "sample.md")) == [paper_id]
    reopened.close()


def test_keyword_search_follows_ingest_and_delete(tmp_path, settings):
    """Hybrid search's BM25 index is rebuilt when the scope's papers change, not served stale."""
    first, second = tmp_path / "tardigrades.txt", tmp_path / "brewing.txt"
    first.write_text("Tardigrade cryptobiosis: water bears survive the vacuum of space.\n", encoding="utf-8")
    second.write_text("Zymurgy: the fermentation kinetics of brewing yeast.\n", encoding="utf-8")
    library = Library(settings)

    def keyword_papers(word: str) -> set[str]:
        index = library.searcher.keyword_cache.get(library.store, ["kb"], library.graph.scope_version(["kb"]))
        return {hit.paper_id for hit, _ in index.search(word, 5)}

    a = library.ingest([first], scope="kb").paper_ids[str(first)]
    assert keyword_papers("zymurgy") == set() and keyword_papers("tardigrade") == {a}
    b = library.ingest([second], scope="kb").paper_ids[str(second)]
    assert keyword_papers("zymurgy") == {b}
    assert library.search("zymurgy", ["kb"], hops=0, hybrid=True).hits[0].paper_id == b
    library.delete(b, "kb")
    assert keyword_papers("zymurgy") == set()
    library.close()


def test_the_graph_keeps_each_papers_vectors_until_the_paper_leaves(tmp_path, shared_data, settings):
    """Graph expansion ranks and scores neighbours from these rows: they must match the store,
    and go with the paper."""
    import numpy as np

    library = Library(settings)
    key = library.store.key
    source = shared_data / "docs" / "sample.md"
    pid = library.ingest([source], scope="a").paper_ids[str(source)]
    library.ingest([source], scope="b")  # copied, not re-embedded: the rows stay as they were
    chunks = library.graph.chunk_matrices([pid], key)[pid]
    stored = library.store.paper_chunks(pid, "b", with_vectors=True)
    assert chunks.shape == (len(stored["ids"]), library.store.dimension) and len(chunks) > 0
    expected = stored["embeddings"] / np.linalg.norm(stored["embeddings"], axis=1, keepdims=True)
    assert np.allclose(chunks, expected, atol=2e-3)  # row i is chunk i
    ids, papers = library.graph.paper_matrix([pid], key)
    paper_vector = library.store.paper_vector(pid)
    assert ids == [pid] and np.allclose(papers[0], paper_vector / np.linalg.norm(paper_vector), atol=2e-3)
    assert library.graph.chunk_matrices([pid], "another-model") == {}
    assert library.graph.paper_matrix([pid], "another-model")[0] == []
    assert library.delete(pid, "a") and library.graph.chunk_matrices([pid], key)
    assert library.delete(pid, "b")
    assert library.graph.chunk_matrices([pid], key) == {} and library.graph.paper_matrix([pid], key)[0] == []
    library.close()


def test_upgrade_gives_papers_from_an_older_version_their_graph_vectors(tmp_path, shared_data):
    """A library made before the graph kept vectors: `scholargraph upgrade` fills them in from
    Chroma, without re-embedding, and graph expansion then finds the same neighbours."""
    import numpy as np
    from sqlalchemy import delete as sql_delete

    from scholargraph.graph.schema import chunk_vectors, paper_vectors
    from scholargraph.settings import Settings

    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "d")]
    files = [shared_data / "papers" / f for f in ("papermage.pdf", "layout-parser-paper-fast.pdf")]
    assert runner.invoke(app, data + ["ingest", *map(str, files), "--kb", "kb"]).exit_code == 0
    # the upgrade's mechanics, not the relevance gate: every neighbour the graph offers is compared
    ungated = Settings(data_dir=tmp_path / "d").with_overrides({"retrieval.neighbour_floor": 0.0})
    library = Library(ungated)
    key = library.store.key
    ids = sorted(p["id"] for p in library.papers())

    def vectors(lib):
        kept, matrix = lib.graph.paper_matrix(ids, key)
        return lib.graph.chunk_matrices(ids, key), dict(zip(kept, matrix))

    before_chunks, before_papers = vectors(library)
    # a pasted passage of PaperMage (its 2nd, which outscores every other passage by far) is about
    # that paper, so LayoutParser, which it cites, joins as a neighbour with no floor
    papermage = next(p["id"] for p in library.papers() if p["title"].startswith("PaperMage"))
    question = library.store.paper_chunks(papermage, "kb")["documents"][1]
    expected = [(n.paper_id, n.relation, n.text) for n in library.search(question, ["kb"], k=2, hops=1).neighbours]
    assert expected and sorted(before_chunks) == sorted(before_papers) == ids
    with library.graph.db.write("forgetting the graph's vectors, as an older version had none") as conn:
        conn.execute(sql_delete(chunk_vectors))
        conn.execute(sql_delete(paper_vectors))
    assert library.graph.papers_without_vectors(key) == ids
    library.close()

    first = runner.invoke(app, data + ["upgrade"])
    assert first.exit_code == 0 and "upgraded 2 paper(s)" in first.output
    assert "nothing to upgrade" in runner.invoke(app, data + ["upgrade"]).output
    library = Library(ungated)
    after_chunks, after_papers = vectors(library)
    for pid in ids:
        assert np.allclose(after_chunks[pid], before_chunks[pid], atol=2e-3)
        assert np.allclose(after_papers[pid], before_papers[pid], atol=2e-3)
    assert [(n.paper_id, n.relation, n.text) for n in library.search(question, ["kb"], k=2, hops=1).neighbours] == expected
    library.close()


def test_killed_cli_leaves_no_parse_workers(tmp_path, shared_data):
    """SIGKILL the CLI while its parse workers are up: every worker exits with it."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    cli = Path(sys.executable).with_name("scholargraph")
    proc = subprocess.Popen(
        [str(cli), "--data-dir", str(tmp_path / "data"), "ingest", str(shared_data / "papers"), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            workers = [c for c in psutil.Process(proc.pid).children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
            if len(workers) >= 2:
                break
            time.sleep(0.2)
        assert len(workers) >= 2, "the CLI did not start its parse workers"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive, f"parse workers outlived the killed CLI: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for worker in workers:  # orphans of a failed run: not left behind for other tests
            try:
                worker.kill()
            except psutil.NoSuchProcess:
                pass


def test_a_failed_commit_keeps_the_vectors_a_concurrent_import_committed(tmp_path, shared_data, settings, monkeypatch):
    """Two imports of one paper race: the loser's rollback must not delete the winner's passages."""
    from scholargraph.ingest import IngestReport, Ingestor
    from scholargraph.parsing.pipeline import parse_file

    library = Library(settings)
    source = shared_data / "docs" / "sample.md"
    library.ingest([source], scope="kb")
    chunks_before = library.store.count()
    paper = parse_file(source)

    def lost_the_race(*args, **kwargs):
        raise __import__("scholargraph.errors").errors.StoreError("UNIQUE constraint failed: papers.id")

    monkeypatch.setattr(library.graph, "add_paper", lost_the_race)
    with pytest.raises(Exception, match="UNIQUE"):
        Ingestor(library)._commit(paper, "kb", IngestReport())
    assert library.store.count() == chunks_before
    assert library.search("What is in the sample document?", scopes=["kb"], hops=0).hits
    library.close()


def test_a_rollback_that_cannot_remove_the_vectors_names_the_paper_and_the_file(settings, shared_data, monkeypatch, caplog):
    """A commit fails and Chroma refuses the cleanup too: the report says which paper's vectors are
    left behind and what removes them, instead of a swallowed error."""
    from scholargraph.errors import StoreError

    library = Library(settings)
    source = shared_data / "docs" / "sample.md"
    clean = library.ingest([source], scope="first")
    assert not clean.warnings and "warnings" not in clean.to_json()
    paper_id = clean.paper_ids[str(source)]

    def graph_fails(*args, **kwargs):
        raise StoreError("database is locked")

    def chroma_refuses(*args, **kwargs):
        raise StoreError("Chroma server at chroma:8000 did not answer")

    monkeypatch.setattr(library.graph, "add_scope", graph_fails)
    monkeypatch.setattr(library.store, "delete_chunks", chroma_refuses)
    with caplog.at_level("WARNING"):
        report = library.ingest([source], scope="second")  # a copy into another scope: fails, cleanup fails

    assert [path for path, _ in report.failed] == [str(source)] and "database is locked" in report.failed[0][1]
    assert len(report.warnings) == 1
    warning = report.warnings[0]
    for part in (str(source), paper_id, "'second'", "did not answer", "scholargraph doctor"):
        assert part in warning
    assert report.to_json()["warnings"] == [warning]
    assert warning in report.summary()
    assert f"paper {paper_id}" in caplog.text
    library.close()


def test_a_failed_commit_whose_cleanup_fails_is_reported_and_still_removes_what_it_can(settings, shared_data, monkeypatch):
    from scholargraph.errors import StoreError

    library = Library(settings)
    source = shared_data / "docs" / "sample.md"

    def graph_fails(*args, **kwargs):
        raise StoreError("database is locked")

    def chroma_refuses(*args, **kwargs):
        raise StoreError("connection refused")

    monkeypatch.setattr(library.graph, "add_paper", graph_fails)
    monkeypatch.setattr(library.store, "delete_chunks", chroma_refuses)
    report = library.ingest([source], scope="kb")

    assert report.failed and not report.added
    paper_id = report.paper_ids[str(source)]
    assert len(report.warnings) == 1 and "chunk vectors" in report.warnings[0] and paper_id in report.warnings[0]
    assert library.store.paper_vector(paper_id) is None  # the next step of the rollback still ran
    library.close()


def test_an_ingest_that_only_skips_known_files_opens_neither_chroma_nor_the_embedder(settings, shared_data):
    """The ingestor gets its parts from the library on first use: re-adding known files needs
    only the graph (no Chroma start, no model load, no request to an embedding server)."""
    source = shared_data / "docs" / "sample.md"
    first = Library(settings)
    first.ingest([source], scope="kb")
    first.close()

    again = Library(settings)
    report = again.ingest([source], scope="kb")
    assert report.skipped == [str(source)] and not report.added
    assert "store" not in again.__dict__ and "embedder" not in again.__dict__
    again.close()
