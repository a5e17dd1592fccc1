"""The HTTP service: Open WebUI's external-loader contract, ingest, search, papers, graph, auth."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from scholargraph.faces.service import create_app

KEY = "test-key-123"


@pytest.fixture(scope="module")
def docs(shared_data: Path) -> Path:
    return shared_data / "docs"


@pytest.fixture(scope="module")
def client(tmp_path_factory, docs: Path):
    from scholargraph.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("service") / "data").with_overrides(
        {"service.api_key": KEY, "parsing.workers": 1}
    )
    with TestClient(create_app(settings)) as c:
        c.headers["Authorization"] = f"Bearer {KEY}"
        yield c


def _process(client: TestClient, path: Path, name: str | None = None, content_type: str | None = None):
    """Send a file the way Open WebUI's ExternalDocumentLoader does (0.12.x)."""
    headers = {"X-Filename": quote(name or path.name)}
    if content_type:
        headers["Content-Type"] = content_type
    return client.put("/process", content=path.read_bytes(), headers=headers)


def test_healthz_is_open(client: TestClient):
    response = client.get("/healthz", headers={"Authorization": ""})
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_key_is_required_when_set(client: TestClient, docs: Path):
    assert client.get("/papers", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/papers", headers={"Authorization": ""}).status_code == 401
    response = client.put("/process", content=b"x", headers={"Authorization": "", "X-Filename": "a.txt"})
    assert response.status_code == 401


def test_process_returns_one_document_per_section(client: TestClient, docs: Path):
    # Open WebUI names stored uploads "{uuid}_{original name}" and URL-quotes the header.
    response = _process(client, docs / "sample.md", name="0c5e9a1e-uuid_graph paper.md", content_type="text/markdown")
    assert response.status_code == 200, response.text
    documents = response.json()
    assert isinstance(documents, list) and len(documents) >= 2
    for doc in documents:
        assert set(doc) == {"page_content", "metadata"} and doc["page_content"].strip()
        meta = doc["metadata"]
        assert meta["source"] == "0c5e9a1e-uuid_graph paper.md"
        assert meta["title"] == "Graph-Augmented Retrieval for Scientific Papers"
        assert meta["loader"] == "scholargraph" and "section" in meta
        assert None not in meta.values()
    assert any("Introduction" in d["metadata"]["section"] for d in documents)


def test_process_pdf_has_page_numbers(client: TestClient, shared_data: Path):
    response = _process(client, shared_data / "papers" / "layout-parser-paper-fast.pdf", content_type="application/pdf")
    assert response.status_code == 200, response.text
    pages = [d["metadata"].get("page_label") for d in response.json()]
    assert pages and all(pages), pages
    first = response.json()[0]["metadata"]
    assert first["page"] == int(first["page_label"]) - 1  # 0-based like Open WebUI's own PDF loader


def test_process_uses_content_type_without_suffix(client: TestClient, docs: Path):
    response = _process(client, docs / "sample.txt", name="upload", content_type="text/plain")
    assert response.status_code == 200, response.text


def test_process_refuses_bad_files_with_one_line(client: TestClient, tmp_path: Path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not a pdf at all\n")
    response = _process(client, broken, content_type="application/pdf")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("broken.pdf:") and "\n" not in detail

    odd = tmp_path / "table.xyz"
    odd.write_bytes(b"a,b\n1,2\n")
    response = _process(client, odd, content_type="application/octet-stream")
    assert response.status_code == 422 and "unsupported file type" in response.json()["detail"]


def test_ingest_search_graph_and_delete(client: TestClient, docs: Path):
    files = [("files", (name, (docs / name).read_bytes(), "application/octet-stream"))
             for name in ("sample.md", "sample_zh.txt")]
    response = client.post("/ingest", files=files, data={"kb": "kb:service-test"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert sorted(report["added"]) == ["sample.md", "sample_zh.txt"] and not report["failed"]
    paper_id = report["paper_ids"]["sample.md"]

    again = client.post("/ingest", files=files[:1], data={"kb": "kb:service-test"}).json()
    assert again["skipped"] == ["sample.md"]

    papers = client.get("/papers", params={"kb": "kb:service-test"}).json()
    assert {p["id"] for p in papers} >= {paper_id}
    assert client.get("/papers", params={"kb": "kb:other"}).json() == []

    result = client.get("/search", params={"q": "citation graph expansion for retrieval", "kb": "kb:service-test", "k": 3}).json()
    assert result["hits"] and result["hits"][0]["paper_id"] in {p["id"] for p in papers}
    assert {"query", "language", "hits", "neighbours"} <= set(result)
    assert client.get("/search", params={"q": "citation graph", "kb": "kb:other"}).json()["hits"] == []

    graph = client.get("/graph", params={"kb": "kb:service-test"}).json()
    assert {n["id"] for n in graph["nodes"]} == {p["id"] for p in papers} and "edges" in graph

    view = client.get("/graph/view", params={"kb": "kb:service-test"})
    assert view.status_code == 200 and view.headers["content-type"].startswith("text/html")
    html = view.text
    assert "<svg" in html and "Graph-Augmented Retrieval" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "").split("<script id=\"data\"")[0]  # no CDN
    assert f"/papers/{paper_id}/file" in html
    # a toggle per relation, a search box, counts in words; the papers coloured by knowledge base
    for kind in ("cites", "similar", "shares_author"):
        assert f'<input type="checkbox" data-kind="{kind}" checked>' in html
    assert '<input id="q" type="search"' in html and "plural(shown,'link')" in html
    data = json.loads(html.split('type="application/json">')[1].split("</script>")[0])
    assert {n["kb"] for n in data["nodes"]} == {"kb:service-test"} and data["kbs"] == {"kb:service-test": "service-test"}

    served = client.get(f"/papers/{paper_id}/file", params={"kb": "kb:service-test"})
    assert served.status_code == 200 and served.content == (docs / "sample.md").read_bytes()

    assert client.delete(f"/papers/{paper_id}", params={"kb": "kb:service-test"}).json()["deleted"] == paper_id
    assert client.delete(f"/papers/{paper_id}", params={"kb": "kb:service-test"}).status_code == 404
    assert paper_id not in {p["id"] for p in client.get("/papers", params={"kb": "kb:service-test"}).json()}


def test_ingest_reports_failures(client: TestClient):
    files = [("files", ("notes.xyz", b"plain", "application/octet-stream"))]
    response = client.post("/ingest", files=files, data={"kb": "kb:bad"})
    assert response.status_code == 422
    assert response.json()["failed"][0]["file"] == "notes.xyz"


def _callable_paths(app) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, path parameters filled in."""
    import re

    out = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                out.append((method, re.sub(r"\{[^}]+\}", "some-id", route.path)))
    return out


def test_key_only_in_the_authorization_header_on_every_route(client: TestClient):
    """A key in the URL ends up in access logs and proxies: every route refuses it."""
    routes = _callable_paths(client.app)
    assert {("PUT", "/process"), ("POST", "/ingest"), ("DELETE", "/papers/some-id"), ("GET", "/openapi.json")} <= set(routes)
    for method, path in routes:
        if path == "/healthz":
            continue
        for params in ({"key": KEY}, {"api_key": KEY}, {"token": KEY}):
            response = client.request(method, path, params=params, headers={"Authorization": ""})
            assert response.status_code == 401, (method, path, params, response.status_code)
        response = client.request(method, path, headers={"Authorization": f"Basic {KEY}"})
        assert response.status_code == 401, (method, path)
        # ... and the header alone gets past the key check.
        response = client.request(method, path, params={"q": "x"} if path == "/search" else None)
        assert response.status_code != 401, (method, path)


def test_schema_pages_are_behind_the_key(client: TestClient):
    assert client.get("/openapi.json", headers={"Authorization": ""}).status_code == 401
    schema = client.get("/openapi.json").json()
    assert "/process" in schema["paths"] and "multipart/form-data" in str(schema["paths"]["/ingest"])
    for page in ("/docs", "/redoc"):
        assert client.get(page, headers={"Authorization": ""}).status_code in (401, 404)


def _leftovers(data_dir: Path) -> list[Path]:
    """Files under uploads/ that no paper holds: partial or refused uploads."""
    incoming = data_dir / "uploads" / ".incoming"
    return sorted(incoming.rglob("*")) if incoming.exists() else []


@pytest.fixture
def small(tmp_path: Path):
    """A service with a 1 MB file limit (the default 200 MB would make these tests slow)."""
    from scholargraph.settings import Settings

    settings = Settings(data_dir=tmp_path / "d").with_overrides(
        {"service.api_key": KEY, "parsing.max_file_mb": 1, "parsing.workers": 1})
    with TestClient(create_app(settings)) as c:
        c.headers["Authorization"] = f"Bearer {KEY}"
        yield c, settings.data_dir


def test_bodies_over_the_limit_are_refused_while_streaming_and_leave_nothing(small, docs: Path):
    client, data_dir = small

    def chunks(total_mb: int):  # no Content-Length: the limit must hold while reading
        for _ in range(total_mb * 16):
            yield b"x" * 65536

    response = client.put("/process", content=chunks(3), headers={"X-Filename": "big.txt"})
    assert response.status_code == 413 and "big.txt" in response.json()["detail"]
    response = client.put("/process", content=b"y" * (2 * 2**20), headers={"X-Filename": "declared.txt"})
    assert response.status_code == 413
    files = [("files", ("small.md", (docs / "sample.md").read_bytes(), "text/markdown")),
             ("files", ("huge.txt", b"z" * (2 * 2**20), "text/plain"))]
    response = client.post("/ingest", files=files, data={"kb": "kb"})
    assert response.status_code == 413 and "huge.txt" in response.json()["detail"]
    assert _leftovers(data_dir) == []
    assert [p for p in (data_dir / "uploads").rglob("*") if p.is_file()] == []  # not even small.md
    assert client.get("/papers").json() == []
    # Under the limit still works, and leaves no temp file either.
    assert client.put("/process", content=(docs / "sample.md").read_bytes(), headers={"X-Filename": "ok.md"}).status_code == 200
    assert _leftovers(data_dir) == []


@pytest.mark.parametrize("name", [".", "..", "", "  ", "../../etc/passwd", "a/b/../c.md", "..\\..\\win.md",
                                  "/abs/path.md", "x" * 400 + ".md", "nul\x00byte.md", "-rf.md"])
def test_hostile_upload_names_never_give_500(small, docs: Path, name: str):
    client, data_dir = small
    body = (docs / "sample.md").read_bytes()
    response = client.put("/process", content=body, headers={"X-Filename": quote(name), "Content-Type": "text/markdown"})
    assert response.status_code in (200, 422), (name, response.text)
    response = client.post("/ingest", files=[("files", (name, body, "text/markdown"))], data={"kb": "kb"})
    assert response.status_code in (200, 422), (name, response.text)
    assert _leftovers(data_dir) == []
    uploads = data_dir / "uploads"
    for stored in (p for p in uploads.rglob("*") if p.is_file()):
        # one folder per content hash, one plain file name inside it
        assert stored.parent.parent == uploads and not stored.name.startswith("."), stored
        assert len(stored.name.encode()) <= 255


def test_refused_and_failed_uploads_are_deleted(small):
    client, data_dir = small
    response = client.post("/ingest", files=[("files", ("notes.xyz", b"plain", "application/octet-stream"))],
                           data={"kb": "kb:bad"})
    assert response.status_code == 422
    assert [p for p in (data_dir / "uploads").rglob("*") if p.is_file()] == []
    assert client.post("/ingest", content=b"not multipart", headers={"Content-Type": "text/plain"}).status_code == 400
    assert _leftovers(data_dir) == []


def test_serving_a_network_address_needs_a_key_or_an_explicit_flag(tmp_path: Path):
    from typer.testing import CliRunner

    from scholargraph.faces.cli import app
    from scholargraph.errors import ConfigError
    from scholargraph.faces.service import check_bind
    from scholargraph.settings import Settings

    base = Settings(data_dir=tmp_path / "d")
    for host in ("0.0.0.0", "::", "192.168.1.5", "my-host.example"):
        with pytest.raises(ConfigError, match="without an API key"):
            check_bind(base.with_overrides({"service.host": host}))
        check_bind(base.with_overrides({"service.host": host, "service.api_key": KEY}))
        check_bind(base.with_overrides({"service.host": host, "service.insecure_no_auth": True}))
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(base.with_overrides({"service.host": host}))

    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "d"), "serve", "--host", "0.0.0.0"],
                                env={"SCHOLARGRAPH_SERVICE__API_KEY": ""})
    assert result.exit_code == 1 and "--insecure-no-auth" in result.output


def test_open_service_without_key(tmp_path: Path):
    from scholargraph.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path / "d"))) as c:
        assert c.get("/papers").json() == []


def test_service_brings_an_older_library_up_to_date_when_it_starts(tmp_path: Path, shared_data: Path):
    """A library from before the graph kept vectors: the service gives them back in the background."""
    from sqlalchemy import delete

    from scholargraph.graph.schema import chunk_vectors, paper_vectors
    from scholargraph.library import Library
    from scholargraph.settings import Settings

    settings = Settings(data_dir=tmp_path / "d")
    library = Library(settings)
    source = shared_data / "docs" / "sample.md"
    pid = library.ingest([source], scope="kb").paper_ids[str(source)]
    with library.graph.db.write("forgetting the graph's vectors, as an older version had none") as conn:
        conn.execute(delete(chunk_vectors))
        conn.execute(delete(paper_vectors))
    assert library.graph.papers_without_vectors(library.store.key) == [pid]
    library.close()

    with TestClient(create_app(settings)) as c:
        c.app.state.upgrade.join(timeout=300)
        assert [p["id"] for p in c.get("/papers").json()] == [pid]
        library = c.app.state.library()
        assert library.graph.papers_without_vectors(library.store.key) == []
        assert library.graph.chunk_matrices([pid], library.store.key)[pid].shape[0] > 0

    off = settings.model_copy(update={"graph": settings.graph.model_copy(update={"upgrade_on_open": False})})
    with TestClient(create_app(off)) as c:
        assert not hasattr(c.app.state, "upgrade")
