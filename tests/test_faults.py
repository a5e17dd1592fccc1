"""Faults a user can cause or suffer: processes racing on a new library, a kill inside a
commit, hostile text in the graph page, a huge upload against the service's memory.

The slow ones (subprocesses) carry the ``faults`` marker: `pytest -m faults`, run by `.ci/run`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import free_port

REPO = Path(__file__).resolve().parents[1]
SCHOLARGRAPH = Path(sys.executable).with_name("scholargraph")


# -- two processes creating one library -------------------------------------------------------
# Each racer imports everything first, then waits for the same instant, so the creation of the
# library (Chroma's tables, the graph's tables, the collections) happens at the same moment.
RACER = r"""
import sys, time
from scholargraph.faces.cli import app
start = float(sys.argv[1])
while time.time() < start:
    pass
sys.argv = ["scholargraph"] + sys.argv[2:]
app()
"""

OPENER = r"""
import sys, time
from scholargraph.graph import PaperGraph
from scholargraph.settings import StoreSettings
from scholargraph.chroma_store import VectorStore
start, data = float(sys.argv[1]), sys.argv[2]
while time.time() < start:
    pass
VectorStore(StoreSettings(), data, "model", 4)._chunks("kb")
PaperGraph(f"sqlite:///{data}/graph.sqlite")
print("opened")
"""


def _start_together(scripts: list[list[str]], lead_s: float, env: dict[str, str]) -> list[subprocess.CompletedProcess]:
    start = time.time() + lead_s
    procs = [subprocess.Popen([sys.executable, "-c", code, str(start), *args], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for code, *args in scripts]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        out.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    return out


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "SCHOLARGRAPH_PARSING__WORKERS": "1"}


@pytest.mark.faults
def test_processes_opening_a_new_library_at_once_all_succeed(tmp_path: Path):
    """Chroma's first open creates its tables; three processes doing it at once used to fail
    with 'table collections already exists' (2 rounds in 5 before the fix)."""
    for round_ in range(4):
        data = tmp_path / f"lib{round_}"
        results = _start_together([[OPENER, str(data)] for _ in range(3)], lead_s=4, env=_env())
        for result in results:
            assert result.returncode == 0 and "opened" in result.stdout, result.stderr[-2000:]


@pytest.mark.faults
def test_two_ingests_on_a_new_library_lose_no_file(tmp_path: Path):
    """`scholargraph ingest` twice at the same moment into a library that does not exist yet."""
    for round_ in range(2):
        data = tmp_path / f"lib{round_}"
        a, b = tmp_path / f"alpha{round_}.md", tmp_path / f"beta{round_}.txt"
        a.write_text(f"# Alpha method {round_}\n\nGraph expansion of citation neighbours for retrieval.\n")
        b.write_text(f"Beta notes {round_}\n\nCross-lingual embeddings of scientific abstracts.\n")
        results = _start_together([[RACER, "--data-dir", str(data), "ingest", str(path)] for path in (a, b)],
                                  lead_s=8, env=_env())
        for result in results:
            assert result.returncode == 0, result.stderr[-2000:]
        listed = subprocess.run([str(SCHOLARGRAPH), "--data-dir", str(data), "papers", "--json"], env=_env(),
                                capture_output=True, text=True, timeout=120)
        sources = sorted(Path(p["source"]).name for p in json.loads(listed.stdout))
        assert sources == sorted([a.name, b.name]), listed.stderr[-2000:]


# -- orphan vectors after a kill inside a commit ------------------------------------------------
def _chunk(paper_id: str, index: int):
    from scholargraph.models import Chunk

    return Chunk(id=f"{paper_id}:{index}", paper_id=paper_id, index=index, text=f"orphan text {index}",
                 section="s", page_start=1, page_end=1)


def test_orphan_vectors_are_swept_and_never_counted(tmp_path: Path, shared_data: Path):
    """Vectors written to Chroma by an ingest killed before its graph commit (as a crash leaves
    them): stats ignores them, the sweep deletes them, the committed paper keeps everything."""
    from fastapi.testclient import TestClient

    from scholargraph.ids import chunk_id
    from scholargraph.library import Library
    from scholargraph.maintenance import find_orphans
    from scholargraph.faces.service import create_app
    from scholargraph.settings import Settings

    settings = Settings(data_dir=tmp_path / "d").with_overrides({"store.orphan_grace_s": 0, "parsing.workers": 1})
    library = Library(settings)
    source = shared_data / "docs" / "sample.md"
    pid = library.ingest([source], scope="kb").paper_ids[str(source)]
    before = library.stats()
    kept = library.store.chunk_ids_by_scope()

    # What a kill between the Chroma writes and the graph commit leaves: chunks in an existing
    # scope and a new one, extra chunks of the committed paper past its count, a paper vector.
    dim = library.embedder.dimension
    ghost = "ghost-paper-0001"
    vectors = np.random.default_rng(0).normal(size=(3, dim)).astype(np.float32)
    chunks = [_chunk(ghost, i) for i in range(3)]
    library.store.upsert_chunks("kb", "Ghost", chunks, vectors)
    library.store.upsert_chunks("kb:new", "Ghost", chunks[:2], vectors[:2])
    library.store.upsert_paper_vector(ghost, "Ghost", vectors[0])
    n = len(kept["kb"])
    library.store.upsert_chunks("kb", "Real", [_chunk(pid, n)], vectors[:1])

    assert library.stats() == before  # committed papers and chunks only
    assert library.papers() == library.papers(["kb"]) and len(library.papers()) == 1
    orphans = find_orphans(library)
    assert sorted(orphans.chunks) == sorted([chunk_id("kb", ghost, i) for i in range(3)]
                                            + [chunk_id("kb:new", ghost, i) for i in range(2)] + [chunk_id("kb", pid, n)])
    assert orphans.papers == [ghost]
    library.close()

    # The service sweeps at start (in the background).
    with TestClient(create_app(settings)) as client:
        client.app.state.sweep.join(timeout=300)
        library = client.app.state.library()
        assert not find_orphans(library)
        assert library.store.chunk_ids_by_scope() == kept | {"kb:new": []}
        assert library.store.paper_vector_ids() == [pid]
        assert library.stats() == before
        hits = library.search("citation graph expansion", ["kb"], k=3).hits
        assert hits and all(h.paper_id == pid for h in hits)


@pytest.mark.faults
def test_doctor_sweeps_orphans_from_the_command_line(tmp_path: Path):
    from scholargraph.ids import chunk_id
    from scholargraph.library import Library
    from scholargraph.settings import Settings

    data = tmp_path / "d"
    library = Library(Settings(data_dir=data))
    vector = np.ones((1, library.embedder.dimension), dtype=np.float32)
    library.store.upsert_chunks("kb", "Ghost", [_chunk("ghost", 0)], vector)
    library.store.upsert_paper_vector("ghost", "Ghost", vector[0])
    library.close()
    del library
    parsed = data / "parsed"  # the document loader's waiting parses: one a day old, one just written
    parsed.mkdir()
    forgotten, waiting = parsed / ("ab" * 32 + ".json"), parsed / ("cd" * 32 + ".json")
    forgotten.write_text("{}")
    waiting.write_text("{}")
    os.utime(forgotten, (time.time() - 2 * 86400,) * 2)
    done = subprocess.run([str(SCHOLARGRAPH), "--data-dir", str(data), "doctor", "--grace", "0", "--json"],
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {"orphan_chunks": 1, "orphan_paper_vectors": 1, "stale_parses": 1,
                                       "upgraded": 0}
    assert not forgotten.exists() and waiting.exists()
    library = Library(Settings(data_dir=data))
    assert library.store.chunk_ids_by_scope() == {"kb": []} and library.store.paper_vector_ids() == []
    assert chunk_id("kb", "ghost", 0) not in library.store.chunk_vectors([chunk_id("kb", "ghost", 0)])


# -- the graph page with hostile text ---------------------------------------------------------------
class _Markup(HTMLParser):
    """Every element and attribute the browser would build, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.scripts: list[str] = []
        self.comments: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data

    def handle_comment(self, data):
        self.comments.append(data)


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "<!--<script>alert(2)//-->",
    "__DATA__ __TITLE__ __LEGEND__ __HEIGHT__",
    "&lt;b&gt; \u2028 \"quoted\" 'single'",
]


def _page(title: str, nodes: list[dict]) -> str:
    from scholargraph.faces.graph_page import render_graph_html

    graph = {"nodes": nodes, "edges": [{"source": nodes[0]["id"], "target": nodes[1]["id"], "kind": "cites"}]}
    return render_graph_html(graph, title=title, paper_url=lambda n: f"/papers/{n['id']}/file?kb=<x>")


def test_graph_page_embeds_hostile_text_as_text():
    nodes = [{"id": f"p{i}", "title": text, "authors": [text, "B"], "year": 2024} for i, text in enumerate(HOSTILE)]
    clean = _page("Paper graph — default", nodes[:2])
    expected = _Markup()
    expected.feed(clean)

    for text in HOSTILE:
        html = _page(f"Paper graph — default, {text}", nodes)
        got = _Markup()
        got.feed(html)
        assert got.tags == expected.tags, text  # no element added or cut short
        assert sorted(set(got.attrs)) == sorted(set(expected.attrs)) and "onerror" not in got.attrs
        assert got.comments == expected.comments == []
        assert len(got.scripts) == 2
        data = json.loads(got.scripts[0])  # the data block is complete JSON and reads back exactly
        assert [n["title"] for n in data["nodes"]] == HOSTILE
        assert data["nodes"][0]["authors"].startswith(HOSTILE[0])
        assert "</" not in got.scripts[0] and "<!--" not in got.scripts[0]
        assert got.scripts[1] == expected.scripts[1]  # the code is untouched
        heading = html.split("<h1>", 1)[1].split("</h1>", 1)[0]
        assert "<" not in heading and '"nodes"' not in heading


def test_graph_view_kb_named_like_a_placeholder_stays_text(tmp_path: Path):
    from fastapi.testclient import TestClient

    from scholargraph.faces.service import create_app
    from scholargraph.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path / "d"))) as client:
        response = client.get("/graph/view", params=[("kb", "default"), ("kb", "__DATA__"), ("kb", "<b>x</b>")])
    assert response.status_code == 200
    heading = response.text.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert heading == "Paper graph — default, __DATA__, &lt;b&gt;x&lt;/b&gt;"


# -- a huge upload against the service's memory ---------------------------------------------------
def _rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


@contextmanager
def _service(data: Path, env: dict[str, str], *args: str) -> Iterator[tuple[int, subprocess.Popen]]:
    """`scholargraph serve` in a subprocess, ready on a free port; its output is kept in files."""
    import http.client

    port = free_port()
    out = open(data.parent / "service.out", "w+")
    server = subprocess.Popen([str(SCHOLARGRAPH), "--data-dir", str(data), "serve", "--port", str(port), *args],
                              env={**_env(), **env}, stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert time.time() < deadline and server.poll() is None, "service did not start"
            time.sleep(0.5)
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=30)
        out.close()


@pytest.mark.faults
def test_a_huge_streamed_body_keeps_the_service_memory_bounded(tmp_path: Path):
    """300 MB sent without Content-Length against a 10 MB limit: refused, memory flat, no file left."""
    import http.client

    env = {"SCHOLARGRAPH_SERVICE__API_KEY": "k", "SCHOLARGRAPH_PARSING__MAX_FILE_MB": "10"}
    with _service(tmp_path / "d", env) as (port, server):
        before = _rss_mb(server.pid)
        for _ in range(30):  # the start-up sweep opens the library (~70 MB): measure after it
            time.sleep(1)
            before, was = _rss_mb(server.pid), before
            if abs(before - was) < 2:
                break
        peak = before
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.putrequest("PUT", "/process")
        conn.putheader("Authorization", "Bearer k")
        conn.putheader("X-Filename", "huge.txt")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        block = b"a" * 2**20
        try:
            for sent in range(1, 301):
                conn.send(b"%x\r\n%s\r\n" % (len(block), block))
                if sent % 10 == 0:
                    peak = max(peak, _rss_mb(server.pid))
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the service stopped reading at the limit and closed the connection
        response = conn.getresponse()
        assert response.status == 413, response.read()[:500]
        peak = max(peak, _rss_mb(server.pid))
        print(f"rss before {before:.0f} MB, peak {peak:.0f} MB")
        assert peak - before < 100, (before, peak)
        incoming = tmp_path / "d" / "uploads" / ".incoming"
        assert not incoming.exists() or list(incoming.iterdir()) == []


@pytest.mark.faults
def test_a_key_in_the_url_is_refused_and_never_logged(tmp_path: Path):
    import http.client

    with _service(tmp_path / "d", {"SCHOLARGRAPH_SERVICE__API_KEY": "k"}) as (port, _server):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/papers?kb=x&key=SECRET-KEY-1&api_key=SECRET-KEY-2")
        assert conn.getresponse().status == 401
        time.sleep(0.5)
    log = (tmp_path / "service.out").read_text()
    assert "GET /papers?kb=x&key=***&api_key=***" in log and "SECRET-KEY" not in log


@pytest.mark.faults
def test_serving_every_address_without_a_key_needs_the_explicit_flag(tmp_path: Path):
    import http.client

    refused = subprocess.run([str(SCHOLARGRAPH), "--data-dir", str(tmp_path / "d"), "serve", "--host", "0.0.0.0"],
                             env=_env(), capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "without an API key" in refused.stderr
    with _service(tmp_path / "d", {}, "--host", "0.0.0.0", "--insecure-no-auth") as (port, _server):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/papers")
        assert conn.getresponse().status == 200
