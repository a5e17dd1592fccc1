"""Bulk ingest on Ray: the same library as a local ingest, nothing doubled when imports overlap.

Runs on a local Ray instance with 2 CPUs and a small object store (marker ``ray``; CI installs
the extra, after the server group, so the production test also has its Chroma server and
PostgreSQL). The missing-Ray message is checked in the default suite.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import free_port, unavailable
from test_servers import check_consistent, chroma_server, ingest_at_once, postgres_server, server_settings  # noqa: F401
from scholargraph.faces.cli import app
from scholargraph.library import Library
from scholargraph.settings import Settings

OBJECT_STORE_BYTES = 200 * 1024 * 1024
# Small papers for the overlap test: 1, 2, 4 and 10 pages; the middle two are in both imports.
OVERLAP_A = ["1903.10676.pdf", "layout-parser-paper-fast.pdf", "2304.02623v1.pdf"]
OVERLAP_B = ["layout-parser-paper-fast.pdf", "2304.02623v1.pdf", "tableformer_acl2022_mineru_demo3.pdf"]


def test_ray_executor_without_ray_says_how_to_install(tmp_path, shared_data, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "ingest",
                                      str(shared_data / "papers" / OVERLAP_A[0]), "--executor", "ray"])
    assert result.exit_code == 1
    assert "pip install 'scholargraph[ray]'" in " ".join(result.output.split())


@pytest.mark.ray
def test_a_ray_address_where_nothing_listens_is_named_at_once(tmp_path, shared_data):
    import ray

    assert not ray.is_initialized()  # runs before the module's Ray starts: the CLI must join one
    address = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "ingest",
                                      str(shared_data / "papers" / OVERLAP_A[0]), "--executor", "ray", "--address", address])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert f"cannot join Ray at {address}: nothing answers there" in message and "parsing.ray_address" in message
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def ray_local():
    try:
        import ray
    except ImportError:
        unavailable("Ray is not installed (pip install 'scholargraph[ray]')", "ray")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES, log_to_driver=False)
    yield ray
    ray.shutdown()


def _ray_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, parsing={"executor": "ray", "ray_commit_batch": 4})


def _snapshot(library: Library) -> dict:
    """What a user sees of a library: papers, each paper's chunks (text, section, pages), edges."""
    papers = {p["id"]: (p["title"], tuple(p["authors"]), p["year"], p["doi"], p["language"], p["chunks"])
              for p in library.papers()}
    chunks = {}
    for pid in papers:
        got = library.store.paper_chunks(pid)
        chunks[pid] = [(d, m.get("section"), m.get("page_start"), m.get("page_end"))
                       for d, m in zip(got["documents"], got["metadatas"])]
    edges = {(e["kind"], e["source"], e["target"]): e["weight"] for e in library.graph_json()["edges"]}
    return {"papers": papers, "chunks": chunks, "edges": edges, "count": library.store.count()}


@pytest.fixture(scope="module")
def local_and_ray(tmp_path_factory, shared_data, ray_local):
    """The shared papers and the scanned PDF (OCR on a Ray worker, one page at a time)."""
    papers = [shared_data / "papers", shared_data / "scanned"]
    local = Library(Settings(data_dir=tmp_path_factory.mktemp("local")))
    local_report = local.ingest(papers, scope="lib")
    on_ray = Library(_ray_settings(tmp_path_factory.mktemp("ray")))
    ray_report = on_ray.ingest(papers, scope="lib")
    yield local, local_report, on_ray, ray_report
    local.close()
    on_ray.close()


@pytest.mark.ray
def test_ray_ingest_gives_the_same_library_as_a_local_ingest(local_and_ray):
    local, local_report, on_ray, ray_report = local_and_ray
    assert ray_report.failed == [] and local_report.failed == []
    assert sorted(ray_report.added) == sorted(local_report.added) and len(ray_report.added) == 11
    assert ray_report.paper_ids == local_report.paper_ids
    assert (ray_report.pages, ray_report.chunks) == (local_report.pages, local_report.chunks)
    want, got = _snapshot(local), _snapshot(on_ray)
    assert got["papers"] == want["papers"]
    assert got["chunks"] == want["chunks"]
    assert got["count"] == want["count"] == local_report.chunks
    assert set(got["edges"]) == set(want["edges"])
    assert any(kind == "cites" for kind, _, _ in got["edges"])
    for key, weight in want["edges"].items():
        assert got["edges"][key] == pytest.approx(weight, abs=1e-4), key


@pytest.mark.ray
def test_ray_reingest_skips_everything(local_and_ray, shared_data):
    _, _, on_ray, _ = local_and_ray
    before = _snapshot(on_ray)
    again = on_ray.ingest([shared_data / "papers", shared_data / "scanned"], scope="lib")
    assert again.added == [] and again.failed == [] and len(again.skipped) == 11
    assert _snapshot(on_ray) == before


@pytest.mark.ray
def test_overlapping_ray_imports_double_nothing(tmp_path, shared_data, ray_local, local_and_ray):
    local = local_and_ray[0]
    data_dir = tmp_path / "shared-library"
    folder = shared_data / "papers"
    reports: dict[str, object] = {}
    errors: list[BaseException] = []

    def run(name: str, files: list[str]) -> None:
        library = Library(_ray_settings(data_dir))  # one library per import, like two processes
        try:
            reports[name] = library.ingest([folder / f for f in files], scope="lib")
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            library.close()

    imports = [threading.Thread(target=run, args=("a", OVERLAP_A)), threading.Thread(target=run, args=("b", OVERLAP_B))]
    for thread in imports:
        thread.start()
    for thread in imports:
        thread.join(timeout=600)
    assert not errors, errors
    a, b = reports["a"], reports["b"]
    assert a.failed == [] and b.failed == []
    for report, files in ((a, OVERLAP_A), (b, OVERLAP_B)):  # every file accounted for
        assert sorted(Path(p).name for p in report.added + report.skipped) == sorted(files)

    merged = Library(Settings(data_dir=data_dir))
    try:
        got = _snapshot(merged)
        want = _snapshot(local)
        ids = {pid for pid, row in want["papers"].items()}
        expected = {pid for path, pid in local_and_ray[1].paper_ids.items() if Path(path).name in set(OVERLAP_A + OVERLAP_B)}
        assert set(got["papers"]) == expected and expected <= ids
        assert got["papers"] == {pid: want["papers"][pid] for pid in expected}
        assert got["chunks"] == {pid: want["chunks"][pid] for pid in expected}
        assert got["count"] == sum(row[-1] for row in got["papers"].values())
        assert merged.stats()["papers"] == 4
    finally:
        merged.close()



@pytest.mark.ray
def test_two_ray_imports_at_once_on_chroma_server_and_postgres(ray_local, server_settings, shared_data):
    """Production shape: two driver processes at once on one Ray cluster, a Chroma server and
    PostgreSQL, with two papers in both imports."""
    address = ray_local.get_runtime_context().gcs_address
    settings = server_settings.with_overrides({"parsing.executor": "ray", "parsing.ray_address": address})
    folder = shared_data / "papers"
    reports = ingest_at_once(settings, [("kb", [folder / f for f in OVERLAP_A]), ("kb", [folder / f for f in OVERLAP_B])])
    assert all(not r["failed"] for r in reports), [r["failed"] for r in reports]
    for report, files in zip(reports, (OVERLAP_A, OVERLAP_B)):
        assert sorted(Path(p).name for p in report["added"] + report["skipped"]) == sorted(files)
    expected = {pid for r in reports for pid in r["paper_ids"].values()}
    assert len(expected) == 4
    library = Library(server_settings)
    try:
        check_consistent(library, "kb", expected)  # nothing lost, nothing doubled, every chunk index once
        assert library.stats(["kb"])["papers"] == 4
    finally:
        library.close()


@pytest.mark.ray
def test_a_ray_ingest_takes_the_document_loaders_parse(tmp_path, shared_data, ray_local):
    """The loader (PUT /process) parsed the upload into <data_dir>/parsed, the default folder no
    setting names; the Ray worker takes that parse (its title marks it) and the commit drops it."""
    import json
    import shutil

    from scholargraph.faces.openwebui.loader import process_upload

    settings = _ray_settings(tmp_path / "d")
    spool = tmp_path / "spool.md"
    shutil.copy(shared_data / "docs" / "sample.md", spool)
    process_upload(spool, "sample.md", "text/markdown", settings)
    entry = next(settings.parsing.cache_folder.glob("*.json"))
    record = json.loads(entry.read_text())
    record["paper"]["title"] = "Title the loader found"
    entry.write_text(json.dumps(record))
    stored = tmp_path / "uploads" / "sample.md"
    stored.parent.mkdir()
    shutil.copy(shared_data / "docs" / "sample.md", stored)
    library = Library(settings)
    report = library.ingest([stored], scope="kb")
    assert report.added == [str(stored)], report.failed
    assert [p["title"] for p in library.papers()] == ["Title the loader found"]
    assert not entry.exists()
    library.close()
