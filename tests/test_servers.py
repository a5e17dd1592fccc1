"""ScholarGraph on the servers a shared deployment uses: a Chroma server and PostgreSQL.

Fixtures start both for the session on free loopback ports: ``chroma run`` from the chromadb
package (.venv/bin/chroma) and a throwaway PostgreSQL cluster (initdb + pg_ctl from Debian's
``postgresql`` package; as root they run as the ``postgres`` user). Each test gets its own
database and its own Chroma collection prefix.

Several processes writing at once is what these servers are for, so the tests run ingests in
separate processes at the same moment and check that nothing is lost or doubled.

Without chroma, PostgreSQL or psycopg these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import free_port, unavailable

from scholargraph.settings import Settings

pytestmark = pytest.mark.server

READY_TIMEOUT_S = 60

# Papers that cite one another (PaperMage cites LayoutParser and CiteSee; "Beyond Summarization"
# cites CiteSee), split so that citing and cited papers go through different processes.
GROUP_A = ["papermage.pdf", "2304.02623v1.pdf"]
GROUP_B = ["layout-parser-paper-fast.pdf", "2302.07302v1.pdf"]
SAME = ["papermage.pdf", "layout-parser-paper-fast.pdf"]






def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- Chroma server ---------------------------------------------------------------------------------
def _chroma_exe() -> Path:
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        found = shutil.which("chroma")
        if not found:
            unavailable("the chroma CLI (from the chromadb package) is not installed", "server")
        exe = Path(found)
    return exe


def _start_chroma(data: Path, port: int, log_path: Path) -> subprocess.Popen:
    """`chroma run` over ``data`` on ``port``, once its heartbeat answers."""
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(_chroma_exe()), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            pytest.fail(f"chroma exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() - started > READY_TIMEOUT_S:
            _stop(process)
            pytest.fail(f"chroma not ready after {READY_TIMEOUT_S}s:\n{_tail(log_path)}")
        time.sleep(0.3)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """`chroma run` on a free port; yields (host, port)."""
    root = tmp_path_factory.mktemp("chroma")
    port = free_port()
    process = _start_chroma(root / "data", port, root / "chroma.log")
    try:
        yield "127.0.0.1", port
    finally:
        _stop(process)


# -- PostgreSQL ------------------------------------------------------------------------------------
def _pg_bin() -> Path | None:
    """initdb/pg_ctl: $SCHOLARGRAPH_PG_BIN, the newest /usr/lib/postgresql/*/bin, or PATH."""
    candidates = []
    if os.environ.get("SCHOLARGRAPH_PG_BIN"):
        candidates.append(Path(os.environ["SCHOLARGRAPH_PG_BIN"]))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    candidates.extend(reversed(versions))
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway cluster on a free port; yields a function that creates a database and returns its URL."""
    try:
        import psycopg
    except ImportError:
        unavailable("the psycopg driver is missing: pip install 'psycopg[binary]' (scholargraph[postgres])", "server")
    bin_dir = _pg_bin()
    if bin_dir is None:
        unavailable("PostgreSQL is not installed (Debian: apt-get install -y postgresql)", "server")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="sg-pg-"))  # not pytest's tmp: the postgres user must enter it
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' user to run PostgreSQL as", "server")
        os.chown(root, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    root.chmod(0o700)
    data, log_path, port = root / "data", root / "postgres.log", free_port()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)

    init = run(str(bin_dir / "initdb"), "-D", str(data), "-U", "scholargraph", "--auth=trust",
               "-E", "UTF8", "--no-locale")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stdout[-500:]}{init.stderr[-500:]}")
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off -c max_connections=200"
    start = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log_path), "-o", options, "-w", "-t", "60", "start")
    if start.returncode != 0:
        log = _tail(log_path)
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {start.stdout[-300:]}{start.stderr[-300:]}\n{log}")

    def create_database() -> str:
        name = f"sg_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={port} user=scholargraph dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://scholargraph@127.0.0.1:{port}/{name}"

    try:
        yield create_database
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server_settings(tmp_path, chroma_server, postgres_server) -> Settings:
    """Settings on the Chroma server and a fresh PostgreSQL database, with collections of our own."""
    host, port = chroma_server
    return Settings(
        data_dir=tmp_path / "data",
        store={"chroma_host": host, "chroma_port": port, "collection_prefix": f"t{uuid.uuid4().hex[:10]}"},
        graph={"database_url": postgres_server()},
        parsing={"workers": 1},
    )


# -- helpers ---------------------------------------------------------------------------------------
INGEST_WORKER = """
import json, sys
from scholargraph.library import Library
from scholargraph.settings import Settings
settings = Settings.model_validate_json(sys.argv[1])
library = Library(settings)
try:
    report = library.ingest(sys.argv[3:], scope=sys.argv[2])
    print(json.dumps({"added": report.added, "skipped": report.skipped, "copied": report.copied,
                      "failed": report.failed, "paper_ids": report.paper_ids}))
finally:
    library.close()
"""


def ingest_at_once(settings: Settings, jobs: list[tuple[str, list[Path]]]) -> list[dict]:
    """Run one ingest process per (scope, files) job, all started together; their reports.

    The database is empty: the processes also race to create the graph tables, as two services
    starting at once do."""
    env = dict(os.environ, DO_NOT_TRACK="1", UNSTRUCTURED_DISABLE_NOTICE="1", ANONYMIZED_TELEMETRY="False")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INGEST_WORKER, settings.model_dump_json(), scope, *map(str, files)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for scope, files in jobs
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, f"ingest process failed ({process.returncode}):\n{err[-3000:]}"
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def check_consistent(library, scope: str, expected_papers: set[str]) -> dict[str, list[str]]:
    """Papers, chunks and ids agree between graph and store: nothing lost, nothing doubled."""
    papers = library.papers([scope])
    assert {p["id"] for p in papers} == expected_papers
    chunks = library.store.texts([scope])
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    assert len(ids) == sum(p["chunks"] for p in papers) == library.store.count([scope]), (
        "store chunks != sum of the papers' chunk counts"
    )
    for paper in papers:
        indices = sorted(c.index for c in chunks if c.paper_id == paper["id"])
        assert indices == list(range(paper["chunks"])), f"{paper['title']}: chunk indices {indices[:8]}..."
        assert library.store.paper_vector(paper["id"]) is not None, f"{paper['title']}: no paper vector"
    assert {c.scope for c in chunks} <= {scope}
    return {kind: sorted((e["source"], e["target"]) for e in library.graph.edges([scope], [kind]))
            for kind in ("cites", "shares_author")}


@pytest.fixture(scope="session")
def baseline_edges(shared_data, tmp_path_factory) -> dict[str, list]:
    """cites / shares_author edges of GROUP_A + GROUP_B ingested one by one (SQLite, embedded Chroma)."""
    from scholargraph.library import Library

    settings = Settings(data_dir=tmp_path_factory.mktemp("baseline"), parsing={"workers": 1})
    library = Library(settings)
    try:
        report = library.ingest([shared_data / "papers" / f for f in GROUP_A + GROUP_B], scope="kb")
        assert not report.failed, report.failed
        return {kind: sorted((e["source"], e["target"]) for e in library.graph.edges(["kb"], [kind]))
                for kind in ("cites", "shares_author")}
    finally:
        library.close()


# -- tests -----------------------------------------------------------------------------------------
def test_ingest_and_search_on_chroma_server_and_postgres(server_settings, shared_data):
    from scholargraph.library import Library

    library = Library(server_settings)
    try:
        files = [shared_data / "papers" / f for f in ("layout-parser-paper-fast.pdf", "2304.02623v1.pdf", "papermage.pdf")]
        report = library.ingest(files, scope="kb")
        assert not report.failed, report.failed
        ids = {Path(p).name: pid for p, pid in report.paper_ids.items()}
        stats = library.stats(["kb"])
        assert stats["papers"] == 3 and stats["chunks"] == report.chunks > 0
        assert stats["vector_store"].startswith("chroma server 127.0.0.1:")
        assert stats["graph_database"].startswith("postgresql+psycopg://")
        result = library.search("a toolkit for deep learning based document image layout analysis", ["kb"], k=5)
        assert result.hits and result.hits[0].paper_id == ids["layout-parser-paper-fast.pdf"]
        result = library.search("AI support for expository writing beyond summarization", ["kb"], k=5)
        assert result.hits and result.hits[0].paper_id == ids["2304.02623v1.pdf"]
        # graph expansion with the passages scored by the Chroma server: PaperMage cites LayoutParser,
        # whose passages answer this question (a relevant cited paper joins; see the relevance gate)
        result = library.search("Which toolkit does PaperMage depend on for access to vision models?", ["kb"],
                                k=2, hops=1)
        assert result.hits[0].paper_id == ids["papermage.pdf"]
        cited = [n for n in result.neighbours if n.paper_id == ids["layout-parser-paper-fast.pdf"]]
        assert cited and cited[0].relation == "cites" and cited[0].text and cited[0].score > 0
        # nothing went to the embedded fallbacks
        assert not (server_settings.data_dir / "chroma").exists()
        assert not (server_settings.data_dir / "graph.sqlite").exists()
        # a second ingest of the same files is a no-op; a delete removes vectors and graph rows
        again = library.ingest(files, scope="kb")
        assert len(again.skipped) == 3 and not again.added
        assert library.delete(ids["2304.02623v1.pdf"], "kb")
        check_consistent(library, "kb", {ids["layout-parser-paper-fast.pdf"], ids["papermage.pdf"]})
    finally:
        library.close()


def test_chroma_restart_is_ridden_out_and_a_dead_server_is_named(tmp_path):
    """A query sent while Chroma restarts waits for it; one sent to a dead server fails clearly."""
    import threading

    import numpy as np

    from scholargraph.errors import StoreError
    from scholargraph.models import Chunk
    from scholargraph.settings import StoreSettings
    from scholargraph.chroma_store import VectorStore

    port, data, log_path = free_port(), tmp_path / "chroma", tmp_path / "chroma.log"
    process = _start_chroma(data, port, log_path)
    restarted: list[subprocess.Popen] = []
    try:
        settings = StoreSettings(chroma_host="127.0.0.1", chroma_port=port, max_retries=4, backoff_s=0.5)
        store = VectorStore(settings, tmp_path, "restart-model", 4)
        vectors = np.eye(4, dtype=np.float32)[:3]
        chunks = [Chunk("", "paper-a", i, f"passage {i}", "Body", 1, 1) for i in range(3)]
        store.upsert_chunks("kb", "Paper A", chunks, vectors)
        assert [h.text for h in store.query(vectors[1], 1, ["kb"])] == ["passage 1"]

        _stop(process)
        restart = threading.Thread(target=lambda: (time.sleep(1.0), restarted.append(_start_chroma(data, port, log_path))))
        restart.start()
        hits = store.query(vectors[2], 1, ["kb"])  # sent while the server is down: retried until it is back
        restart.join()
        assert [h.text for h in hits] == ["passage 2"]
        assert store.query(vectors[0], 1, ["no-such-kb"]) == []  # a missing scope is empty, not an error

        _stop(restarted.pop())
        started = time.monotonic()
        with pytest.raises(StoreError, match=rf"127\.0\.0\.1:{port} did not answer after 5 tries"):
            store.query(vectors[0], 1, ["kb"])
        assert time.monotonic() - started < 30  # 0.5 + 1 + 2 + 4 s of back-off, then the error
    finally:
        for proc in [process, *restarted]:
            if proc.poll() is None:
                _stop(proc)


def test_graph_database_that_never_answers_fails_in_bounded_time(postgres_server):
    """A PostgreSQL address that accepts connections but never answers: a clear error, no hang."""
    import socket

    from scholargraph.errors import StoreError
    from scholargraph.graph.paper_graph import PaperGraph
    from scholargraph.settings import GraphSettings

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(StoreError, match=rf"graph database .*127\.0\.0\.1:{port}"):
            PaperGraph(f"postgresql+psycopg://scholar:secret@127.0.0.1:{port}/library", GraphSettings())
        elapsed = time.monotonic() - started
    assert elapsed < GraphSettings().connect_timeout_s * 3


def test_two_processes_ingesting_different_files_at_once(server_settings, shared_data, baseline_edges):
    from scholargraph.library import Library

    papers = shared_data / "papers"
    reports = ingest_at_once(server_settings, [("kb", [papers / f for f in GROUP_A]),
                                               ("kb", [papers / f for f in GROUP_B])])
    assert all(not r["failed"] for r in reports), [r["failed"] for r in reports]
    expected = {pid for r in reports for pid in r["paper_ids"].values()}
    assert len(expected) == 4
    library = Library(server_settings)
    try:
        edges = check_consistent(library, "kb", expected)
    finally:
        library.close()
    assert baseline_edges["cites"], "the baseline has no citation between these papers; pick others"
    assert edges["cites"] == baseline_edges["cites"], "citations lost or added by concurrent ingest"
    assert edges["shares_author"] == baseline_edges["shares_author"]


def test_two_processes_ingesting_the_same_files_at_once(server_settings, shared_data):
    from scholargraph.library import Library

    files = [shared_data / "papers" / f for f in SAME]
    reports = ingest_at_once(server_settings, [("kb", files), ("kb", files)])
    assert all(not r["failed"] for r in reports), [r["failed"] for r in reports]
    expected = set(reports[0]["paper_ids"].values())
    library = Library(server_settings)
    try:
        check_consistent(library, "kb", expected)
        assert library.stats(["kb"])["papers"] == 2
    finally:
        library.close()


def test_two_processes_adding_the_same_files_to_two_scopes_at_once(server_settings, shared_data):
    from scholargraph.library import Library

    files = [shared_data / "papers" / f for f in SAME]
    reports = ingest_at_once(server_settings, [("kb-a", files), ("kb-b", files)])
    assert all(not r["failed"] for r in reports), [r["failed"] for r in reports]
    expected = set(reports[0]["paper_ids"].values())
    library = Library(server_settings)
    try:
        check_consistent(library, "kb-a", expected)
        check_consistent(library, "kb-b", expected)
        assert all(sorted(p["scopes"]) == ["kb-a", "kb-b"] for p in library.papers())
    finally:
        library.close()


# -- the graph's transactions under a real race ---------------------------------------------------
GRAPH_WORKER = """
import json, sys, time
from pathlib import Path
from scholargraph.graph import PaperGraph
from scholargraph.models import Paper, Reference
url, which, gate, mode, authors = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], sys.argv[5]
papers = {
    "a": Paper(id="a" * 16, content_hash="a" * 64, origin="alpha.pdf",
               title="Alpha: citation graphs for scientific retrieval", authors=["Ada Lovelace", "Alan Turing"],
               year=2023, doi="10.5555/alpha.2023",
               references=[Reference(raw="A. Turing, G. Hopper. Beta: table encoders. 2022. doi:10.5555/beta.2022",
                                     doi="10.5555/beta.2022", title="Beta: table encoders", year=2022)]),
    "b": Paper(id="b" * 16, content_hash="b" * 64, origin="beta.pdf",
               title="Beta: table encoders", authors=["Alan Turing", "Grace Hopper"], year=2022,
               doi="10.5555/beta.2022",
               references=[Reference(raw="A. Lovelace, A. Turing. Alpha: citation graphs for scientific retrieval. "
                                         "2023. doi:10.5555/alpha.2023", doi="10.5555/alpha.2023",
                                     title="Alpha: citation graphs for scientific retrieval", year=2023)]),
}
if authors == "disjoint":  # no shared author row to wait on
    papers["b"].authors = ["Grace Hopper", "Edsger Dijkstra"]
graph = None if mode == "create" else PaperGraph(url)
(gate / f"ready-{which}").touch()
while not (gate / "go").exists():
    time.sleep(0.0005)
try:
    if graph is None:
        graph = PaperGraph(url)
    graph.add_paper(papers[which], "kb", 1)
    print(json.dumps({"ok": True}))
except Exception as exc:
    print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
"""


def race_add_papers(url: str, tmp_path: Path, mode: str, authors: str = "shared") -> list[dict]:
    """Two processes add papers 'a' and 'b' (which cite each other) at the same instant.

    ``mode``: 'ready' (tables created beforehand; only the add races) or 'create' (both processes
    also create the tables at that instant). ``authors``: 'shared' (one author in common) or
    'disjoint' (none)."""
    from scholargraph.graph import PaperGraph

    if mode == "ready":
        PaperGraph(url).close()
    gate = tmp_path / f"gate-{uuid.uuid4().hex[:6]}"
    gate.mkdir()
    processes = {
        which: subprocess.Popen([sys.executable, "-c", GRAPH_WORKER, url, which, str(gate), mode, authors],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for which in ("a", "b")
    }
    try:
        deadline = time.monotonic() + 120
        while not all((gate / f"ready-{w}").exists() for w in processes):
            assert time.monotonic() < deadline, "graph workers did not start"
            dead = {w: p.communicate() for w, p in processes.items() if p.poll() is not None}
            assert not dead, f"graph worker died before the start line: {dead}"
            time.sleep(0.01)
        (gate / "go").touch()
        results = []
        for which, process in processes.items():
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err[-2000:]
            results.append({"paper": which, **json.loads(out.strip().splitlines()[-1])})
        return results
    finally:
        (gate / "go").touch()  # never leave a worker waiting at the start line
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def expected_race_edges(graph) -> dict[str, set]:
    return {kind: {(e["source"], e["target"]) for e in graph.edges(None, [kind])} for kind in ("cites", "shares_author")}


A, B = "a" * 16, "b" * 16


def test_graph_tables_created_by_two_processes_at_once(postgres_server, tmp_path):
    """Two services starting on an empty database both run CREATE TABLE; neither may fail."""
    from scholargraph.graph import PaperGraph

    for _ in range(3):
        url = postgres_server()
        results = race_add_papers(url, tmp_path, mode="create")
        assert all(r["ok"] for r in results), results
        graph = PaperGraph(url)
        try:
            assert {p["id"] for p in graph.papers()} == {A, B}
        finally:
            graph.close()


# A shared author row makes the second writer wait for the first (ON CONFLICT on authors), which
# hid the race before graph writes took an advisory lock; without one, only that lock orders them.
@pytest.mark.parametrize("authors", ["shared", "disjoint"])
def test_graph_keeps_citations_between_papers_added_at_the_same_instant(postgres_server, tmp_path, authors):
    """Paper a cites b and b cites a; added concurrently, the graph must hold both edges."""
    from scholargraph.graph import PaperGraph

    wanted = {"cites": {(A, B), (B, A)}, "shares_author": {(A, B)} if authors == "shared" else set()}
    rounds = []
    for _ in range(3):
        url = postgres_server()
        results = race_add_papers(url, tmp_path, mode="ready", authors=authors)
        graph = PaperGraph(url)
        try:
            rounds.append((results, expected_race_edges(graph), graph.stats()))
        finally:
            graph.close()
    for results, edges, stats in rounds:
        assert all(r["ok"] for r in results), results
        assert stats["papers"] == 2 and stats["authors"] == (3 if authors == "shared" else 4), stats
        assert edges == wanted, f"edges after a concurrent add: {edges}; wanted {wanted}"
