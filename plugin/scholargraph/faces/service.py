"""The HTTP face: Open WebUI's external document loader, ingest, search, papers and the graph.

``create_app(settings)`` builds the FastAPI app over one ``Library``; ``serve(settings)``
runs it with uvicorn (``scholargraph serve``). Every route except ``/healthz`` wants
``Authorization: Bearer <settings.service.api_key>`` when that key is set, the OpenAPI schema
included (``/docs`` and ``/redoc`` are off then). The key is taken from that header only, never
from the query string: URLs end up in access logs, proxies and browser history.

Uploads stream to disk with ``parsing.max_file_mb`` enforced while reading (``uploads.py``);
a refused or failed upload leaves no file behind.

``PUT /process`` follows the contract of Open WebUI's ``ExternalDocumentLoader``
(``open_webui/retrieval/loaders/external_document.py``, 0.12.x): the raw file bytes as the
body, headers ``Content-Type``, ``Authorization: Bearer KEY`` and ``X-Filename`` (the file's
base name, URL-quoted), and it reads back ``{page_content, metadata}`` or a list of them.
We answer one document per section, with page numbers in the metadata.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import mimetypes
import re
import shutil
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from scholargraph import __version__
from scholargraph.errors import ConfigError, ParseError, ScholarGraphError
from scholargraph.ids import content_hash
from scholargraph.settings import Settings
from scholargraph.faces.uploads import (
    ReceivedFile,
    UploadRefused,
    UploadTooLarge,
    plain_stem,
    receive_multipart,
    remove_quietly,
    safe_filename,
    spool_body,
)

log = logging.getLogger("scholargraph.faces.service")

# Partial uploads, under the data dir's uploads/ folder; emptied of stale files at start.
INCOMING = ".incoming"

# /ingest parses its multipart body itself (to enforce the size limit while reading); this
# tells the OpenAPI schema what it takes.
INGEST_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "Paper files (pdf, docx, html, md, txt)."},
        "kb": {"type": "string", "default": "default", "description": "Knowledge base (scope) to add them to."},
    }}}}}}

# What Open WebUI may send as Content-Type when X-Filename carries no usable suffix.
SUFFIX_BY_TYPE = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/html": ".html",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/plain": ".txt",
}


def _suffix_for(filename: str, content_type: str | None) -> str:
    from scholargraph.ingest import SUPPORTED_SUFFIXES

    suffix = Path(filename).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    kind = (content_type or "").split(";")[0].strip().lower()
    return SUFFIX_BY_TYPE.get(kind, suffix or mimetypes.guess_extension(kind) or "")


def paper_documents(paper, filename: str) -> list[dict[str, Any]]:
    """A parsed paper as Open WebUI documents: one per section, page numbers in the metadata.

    ``page`` is 0-based like Open WebUI's own PDF loader (its citation view shows page + 1
    and links ``#page=page+1``); ``page_label`` / ``page_end`` are the printed 1-based pages.
    Metadata values are never None: Open WebUI hands them to its vector store as they are.
    """
    base = {
        "source": filename,
        "name": filename,
        "title": paper.title,
        "authors": ", ".join(paper.authors),
        "year": paper.year,
        "doi": paper.doi,
        "arxiv_id": paper.arxiv_id,
        "language": paper.language,
        "paper_id": paper.id,
        "content_hash": paper.content_hash,
        "total_pages": paper.pages,
        "loader": "scholargraph",
    }
    base = {k: v for k, v in base.items() if v not in (None, "")}
    docs: list[dict[str, Any]] = []
    for index, section in enumerate(paper.sections):
        text = section.text.strip()
        if not text:
            continue
        meta = dict(base, section=section.title or "", section_index=index)
        if section.page_start is not None:
            meta["page"] = section.page_start - 1
            meta["page_label"] = str(section.page_start)
            meta["page_end"] = section.page_end
        content = f"{section.title}\n\n{text}" if section.title else text
        docs.append({"page_content": content, "metadata": meta})
    return docs


class _Auth:
    """Bearer-key check on the ``Authorization`` header (what Open WebUI's external document
    loader sends); an empty key leaves the service open, which ``serve`` allows on loopback only."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: Request) -> None:
        if not self.key:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""
        if not given or not hmac.compare_digest(given.encode(), self.key.encode()):
            raise HTTPException(401, "missing or wrong API key: send 'Authorization: Bearer <key>' "
                                     "(the key is SCHOLARGRAPH_SERVICE__API_KEY on the server)",
                                headers={"WWW-Authenticate": "Bearer"})


def create_app(settings: Settings | None = None, library=None) -> FastAPI:
    """The FastAPI app over one library (created on first use unless given)."""
    settings = settings or Settings()
    state: dict[str, Any] = {"library": library}
    make_lock = threading.Lock()
    write_lock = threading.Lock()  # ingest and delete run one at a time; reads run freely

    def lib():
        if state["library"] is None:
            with make_lock:
                if state["library"] is None:
                    from scholargraph.library import Library

                    state["library"] = Library(settings)
        return state["library"]

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        _clear_stale(Path(settings.data_dir) / "uploads" / INCOMING)
        from scholargraph.library import in_background
        from scholargraph.maintenance import sweep_orphans_logged

        # Vectors a killed ingest left without a committed paper, then an older library's upgrade:
        # both off the request path, each opening the library in its own thread.
        app.state.sweep = in_background("orphan vector sweep", lib, sweep_orphans_logged)
        upgrade = lib().start_upgrade()  # off the request path: the graph and vectors open in its thread
        if upgrade is not None:
            app.state.upgrade = upgrade
        yield
        if state["library"] is not None:
            state["library"].close()

    keyed = bool(settings.service.api_key)
    # With a key, the schema pages are not public: /openapi.json is served behind the key below,
    # and the interactive /docs and /redoc (which a browser cannot load with a header) are off.
    app = FastAPI(title="ScholarGraph", version=__version__, lifespan=lifespan,
                  description="Graph-aware retrieval over a paper library; Open WebUI external document loader.",
                  openapi_url=None if keyed else "/openapi.json",
                  docs_url=None if keyed else "/docs", redoc_url=None if keyed else "/redoc")
    auth = Depends(_Auth(settings.service.api_key))
    app.state.settings = settings
    app.state.library = lib
    uploads = Path(settings.data_dir) / "uploads"
    incoming = uploads / INCOMING
    limit = settings.parsing.max_file_mb * 2**20

    if keyed:
        @app.get("/openapi.json", include_in_schema=False, dependencies=[auth])
        def openapi() -> JSONResponse:
            if app.openapi_schema is None:
                app.openapi_schema = get_openapi(title=app.title, version=app.version,
                                                 description=app.description, routes=app.routes)
            return JSONResponse(app.openapi_schema)

    def too_large(name: str) -> HTTPException:
        return HTTPException(413, str(UploadTooLarge(name, settings.parsing.max_file_mb)))

    def declared_too_large(request: Request, name: str) -> None:
        """Refuse at once a body whose declared length is over the limit (nothing read)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large(name)

    @app.exception_handler(ScholarGraphError)
    async def _engine_error(_request: Request, exc: ScholarGraphError) -> JSONResponse:
        code = 422 if isinstance(exc, ParseError) else 500 if isinstance(exc, ConfigError) else 503
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=[auth])
    def index() -> HTMLResponse:
        """A page of links for whoever opens the bare address in a browser (behind the key like every page)."""
        links = [("graph/view", "Paper graph"), ("healthz", "Health")]
        if not keyed:
            links.insert(1, ("docs", "API documentation"))
        items = "".join(f'<li><a href="{href}">{name}</a> <code>/{href}</code></li>' for href, name in links)
        return HTMLResponse(f"<!doctype html><html><head><meta charset=\"utf-8\"><title>ScholarGraph</title></head>"
                            f"<body><h1>ScholarGraph {__version__}</h1><ul>{items}</ul></body></html>")

    @app.put("/process", dependencies=[auth])
    async def process(request: Request) -> Any:
        """Open WebUI external document loader: raw bytes in, one document per section out."""
        filename = safe_filename(request.headers.get("x-filename"), "document")
        declared_too_large(request, filename)
        try:
            path = await spool_body(request.stream(), incoming, limit, filename)
        except UploadTooLarge:
            raise too_large(filename) from None
        try:
            if path.stat().st_size == 0:
                raise HTTPException(422, f"{filename}: empty request body")
            suffix = _suffix_for(filename, request.headers.get("content-type"))
            return await run_in_threadpool(_parse_upload, path, filename, suffix, settings)
        finally:
            remove_quietly(path)

    @app.post("/ingest", dependencies=[auth], openapi_extra=INGEST_BODY)
    async def ingest(request: Request) -> JSONResponse:
        """Store uploads under the data dir (so the graph view can open them) and ingest them.

        Multipart ``files`` (one or more) and ``kb``. Each file is written to disk as it
        arrives and refused (413) at the first byte over ``parsing.max_file_mb``; files that
        are refused or fail to ingest are deleted.
        """
        try:
            fields, received = await receive_multipart(
                request.headers.get("content-type", ""), request.stream(), incoming, limit,
                settings.service.max_upload_files)
        except UploadTooLarge as exc:
            raise HTTPException(413, str(exc)) from None
        except UploadRefused as exc:
            raise HTTPException(400, str(exc)) from None
        kb = fields.get("kb") or "default"
        new: list[Path] = []
        try:
            if not received:
                raise HTTPException(422, "no files in the upload (multipart field 'files')")
            stored, new = await run_in_threadpool(_store_uploads, received, uploads)

            def run():
                with write_lock:
                    return lib().ingest(list(stored), scope=kb)

            report = await run_in_threadpool(run)
        except BaseException:
            for path in new:
                _remove_upload(path, uploads)
            raise
        finally:
            for item in received:
                remove_quietly(item.path)
        failed = {p for p, _ in report.failed}
        for path in new:
            if str(path) in failed:
                _remove_upload(path, uploads)
        body = {"kb": kb, **report.to_json(lambda p: stored.get(p, Path(p).name))}
        ok = report.added or report.copied or report.skipped
        return JSONResponse(body, status_code=200 if ok or not report.failed else 422)

    @app.get("/search", dependencies=[auth])
    def search(
        q: str = Query(..., min_length=1, description="The question, in any language."),
        kb: list[str] | None = Query(None, description="Scopes to search; repeat for several; none = all."),
        k: int | None = Query(None, ge=1, le=200),
        hops: int | None = Query(None, ge=0, le=3),
        hybrid: bool | None = Query(None),
        neighbour_budget: int | None = Query(None, ge=0, le=50),
    ) -> dict[str, Any]:
        """Passages and graph neighbours; the same JSON as `scholargraph search --json` (SearchResult.to_json)."""
        result = lib().search(q, kb or None, k=k, hops=hops, hybrid=hybrid, neighbour_budget=neighbour_budget)
        return result.to_json()

    @app.get("/library/overview", dependencies=[auth])
    def library_overview(kb: list[str] | None = Query(None, description="Scopes; repeat for several; none = all.")
                         ) -> dict[str, Any]:
        """The library's themes, in-library citation counts and citations between its papers; the
        same JSON as `scholargraph search --scope library --json` (the pack questions about the
        whole library are answered from)."""
        return lib().overview(kb or None).to_json()

    @app.get("/papers", dependencies=[auth])
    def papers(kb: list[str] | None = Query(None)) -> list[dict[str, Any]]:
        return lib().papers(kb or None)

    @app.delete("/papers/{paper_id}", dependencies=[auth])
    def delete_paper(paper_id: str, kb: str | None = Query(None, description="Only from this scope.")) -> dict[str, Any]:
        with write_lock:
            found = lib().delete(paper_id, scope=kb)
        if not found:
            raise HTTPException(404, f"no paper {paper_id}" + (f" in '{kb}'" if kb else ""))
        return {"deleted": paper_id, "kb": kb}

    @app.get("/papers/{paper_id}/file", name="paper_file", dependencies=[auth])
    def paper_file(paper_id: str, kb: list[str] | None = Query(None)) -> FileResponse:
        """The paper's own file, when its recorded source is still on disk with the same content."""
        paper = lib().graph.get_paper(paper_id, kb or None)
        if paper is None:
            raise HTTPException(404, f"no paper {paper_id}")
        source = Path(paper.get("source") or "")
        if not source.is_file() or content_hash(source) != paper.get("content_hash"):
            raise HTTPException(404, f"the file of paper {paper_id} is no longer at {source}")
        return FileResponse(source, filename=source.name, content_disposition_type="inline")

    @app.get("/papers/{paper_id}", dependencies=[auth])
    def show_paper(paper_id: str, kb: list[str] | None = Query(None)) -> dict[str, Any]:
        """Metadata, abstract, sections, citations in and out of the library, citing and similar papers."""
        from scholargraph.library_io.show import show_paper as show

        data = show(lib(), paper_id, kb or None)
        if data is None:
            raise HTTPException(404, f"no paper {paper_id}")
        return data

    @app.get("/export", dependencies=[auth])
    def export(
        format: str = Query("bibtex", description="bibtex, ris or csl-json"),
        kb: list[str] | None = Query(None),
        paper: list[str] | None = Query(None, description="Only these paper ids; repeat for several."),
    ) -> Response:
        from scholargraph.library_io.export import MEDIA_TYPES, SUFFIXES, export as export_text

        if format not in MEDIA_TYPES:
            raise HTTPException(422, f"unknown format {format!r}; use one of {', '.join(MEDIA_TYPES)}")
        try:
            text = export_text(lib(), format, kb or None, paper or None)
        except ScholarGraphError as exc:
            raise HTTPException(404, str(exc)) from exc
        return Response(text, media_type=f"{MEDIA_TYPES[format]}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="library{SUFFIXES[format]}"'})

    @app.get("/reading-list", dependencies=[auth])
    def reading_list(
        kb: list[str] | None = Query(None),
        min_citing: int = Query(2, ge=1),
        limit: int | None = Query(None, ge=1),
    ) -> list[dict[str, Any]]:
        """Works several library papers cite that the library does not hold, the most cited first."""
        from scholargraph.library_io.reading_list import reading_list as works

        return works(lib(), kb or None, min_citing=min_citing, limit=limit)

    @app.get("/graph", dependencies=[auth])
    def graph(kb: list[str] | None = Query(None)) -> dict[str, Any]:
        return lib().graph_json(kb or None)

    @app.get("/graph/view", response_class=HTMLResponse, dependencies=[auth])
    def graph_view(
        request: Request,
        kb: list[str] | None = Query(None),
        reading_list: bool = Query(False, description="Also draw the reading list's works as ghost nodes."),
    ) -> HTMLResponse:
        from scholargraph.faces.graph_page import render_graph_html

        params = [("kb", s) for s in kb or []]
        query = "?" + urlencode(params) if params else ""

        def url(node: dict[str, Any]) -> str:
            return str(request.url_for("paper_file", paper_id=node["id"])) + query

        title = "Paper graph" + (f" — {', '.join(kb)}" if kb else "")
        graph = lib().graph_json(kb or None)
        if reading_list:
            from scholargraph.library_io.reading_list import reading_list as works, with_ghosts

            graph = with_ghosts(graph, works(lib(), kb or None))
        return HTMLResponse(render_graph_html(graph, title=title, paper_url=url))

    return app


def _parse_upload(path: Path, filename: str, suffix: str, settings: Settings) -> list[dict[str, Any]]:
    """Parse an uploaded file under its own name and the right suffix; ParseError -> 422."""
    from scholargraph.ingest import SUPPORTED_SUFFIXES
    from scholargraph.parsing import parse_file

    if suffix not in SUPPORTED_SUFFIXES:
        raise HTTPException(422, f"{filename}: unsupported file type {suffix or '(none)'}; "
                                 f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    with tempfile.TemporaryDirectory(prefix="process-", dir=path.parent) as tmp:
        # The file's own name, so a paper with no printed title falls back to it, not "document".
        named = Path(tmp) / f"{plain_stem(filename)}{suffix}"
        path.replace(named)
        try:
            paper = parse_file(named, settings.parsing)
        except ParseError as exc:
            raise HTTPException(422, f"{filename}: {exc.reason}") from exc
        except ScholarGraphError as exc:
            raise HTTPException(422, f"{filename}: {exc}") from exc
        except Exception as exc:  # a parser bug still answers one line naming the file
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise HTTPException(422, f"{filename}: cannot parse ({type(exc).__name__}: {reason})") from exc
    docs = paper_documents(paper, filename)
    if not docs:
        raise HTTPException(422, f"{filename}: no text found (an image-only PDF needs OCR: "
                                 "SCHOLARGRAPH_PARSING__PDF_STRATEGY=auto or ocr_only)")
    return docs


def _store_uploads(received: list[ReceivedFile], uploads: Path) -> tuple[dict[str, str], list[Path]]:
    """Move received files to ``uploads/<content hash>/<name>``; returns {stored path: name} and
    the paths that did not exist before (what a failure may delete)."""
    stored: dict[str, str] = {}
    new: list[Path] = []
    for item in received:
        target = uploads / content_hash(item.path)[:16] / item.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            new.append(target)
        item.path.replace(target)
        stored[str(target)] = item.name
    return stored, new


def _remove_upload(path: Path, uploads: Path) -> None:
    """Delete a stored upload and its hash folder once empty."""
    remove_quietly(path)
    if path.parent != uploads:
        try:
            path.parent.rmdir()
        except OSError:
            pass  # another file of the same content is still there


def _clear_stale(folder: Path, older_than_s: float = 3600) -> None:
    """Partial uploads left by a service that was killed mid-request (another running
    service may be writing the fresh ones, so only old files go)."""
    if not folder.is_dir():
        return
    cutoff = time.time() - older_than_s
    for item in folder.iterdir():
        try:
            if item.stat().st_mtime < cutoff:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        except OSError:
            pass


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_bind(settings: Settings) -> None:
    """Refuse to serve a non-loopback address without a key, unless told so explicitly."""
    service = settings.service
    if service.api_key or is_loopback(service.host):
        return
    if not service.insecure_no_auth:
        raise ConfigError(
            f"refusing to serve on {service.host} without an API key: anyone who can reach it could read "
            "and change the library. Set SCHOLARGRAPH_SERVICE__API_KEY, bind 127.0.0.1, or pass "
            "--insecure-no-auth (service.insecure_no_auth) if a proxy in front does the authentication"
        )
    log.warning("serving on %s without an API key (--insecure-no-auth): anyone who can reach it can read "
                "and change the library", service.host)


class RedactQuerySecrets(logging.Filter):
    """Access-log lines with the values of key-like query parameters replaced by ``***``.

    The service refuses a key in the URL, but uvicorn logs the request line before anyone
    reads it: a client that put its key there must not find it in the log.
    """

    PATTERN = re.compile(r"(?i)([?&][^=&\s]*(?:key|token|secret|password|auth)[^=&\s]*=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.PATTERN.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with ``RedactQuerySecrets`` on the access log."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": f"{__name__}.RedactQuerySecrets"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def serve(settings: Settings | None = None) -> None:
    """Run the service with uvicorn on settings.service.host:port (``scholargraph serve``)."""
    import uvicorn

    from threadpoolctl import threadpool_limits

    settings = settings or Settings()
    check_bind(settings)
    # Requests run in parallel threads; a BLAS pool per product on top only spins (its threads
    # busy-wait for work): one BLAS thread made /search cost 5x less CPU (docs/performance.md).
    threadpool_limits(1, user_api="blas")
    uvicorn.run(create_app(settings), host=settings.service.host, port=settings.service.port, log_level="info",
                log_config=log_config())
