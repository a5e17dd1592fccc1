"""The HTTP face: Open WebUI's external document loader, ingest, search, papers and the graph.

``create_app(settings)`` builds the FastAPI app over one ``Library``; ``serve(settings)``
runs it with uvicorn (``scholargraph serve``). Every route except ``/healthz`` wants
``Authorization: Bearer <settings.service.api_key>`` when that key is set; a browser, which
cannot send the header, may pass ``?key=`` to the graph view and paper links instead.

``PUT /process`` follows the contract of Open WebUI's ``ExternalDocumentLoader``
(``open_webui/retrieval/loaders/external_document.py``, 0.12.x): the raw file bytes as the
body, headers ``Content-Type``, ``Authorization: Bearer KEY`` and ``X-Filename`` (the file's
base name, URL-quoted), and it reads back ``{page_content, metadata}`` or a list of them.
We answer one document per section, with page numbers in the metadata.
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import re
import shutil
import tempfile
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from scholargraph import __version__
from scholargraph.errors import ConfigError, ParseError, ScholarGraphError
from scholargraph.ids import content_hash
from scholargraph.settings import Settings

log = logging.getLogger("scholargraph.service")

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
    """Bearer-key check; an empty key leaves the service open (meant for loopback use)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: Request) -> str | None:
        if not self.key:
            return None
        header = request.headers.get("authorization", "")
        given = header[7:].strip() if header.lower().startswith("bearer ") else request.query_params.get("key", "")
        if not given or not hmac.compare_digest(given.encode(), self.key.encode()):
            raise HTTPException(401, "missing or wrong API key: send 'Authorization: Bearer <key>' "
                                     "(the key is SCHOLARGRAPH_SERVICE__API_KEY on the server)",
                                headers={"WWW-Authenticate": "Bearer"})
        return given


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

    def upgrade() -> None:
        """``Library.upgrade_logged`` off the request path (opening the library may fail too)."""
        try:
            library = lib()
        except Exception as exc:  # the routes will say why; the service still starts
            log.warning("library upgrade at start did not run (%s)", exc)
            return
        library.upgrade_logged()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if settings.graph.upgrade_on_open:
            app.state.upgrade = threading.Thread(target=upgrade, name="scholargraph-upgrade", daemon=True)
            app.state.upgrade.start()
        yield
        if state["library"] is not None:
            state["library"].close()

    app = FastAPI(title="ScholarGraph", version=__version__, lifespan=lifespan,
                  description="Graph-aware retrieval over a paper library; Open WebUI external document loader.")
    auth = Depends(_Auth(settings.service.api_key))
    app.state.settings = settings
    app.state.library = lib

    @app.exception_handler(ScholarGraphError)
    async def _engine_error(_request: Request, exc: ScholarGraphError) -> JSONResponse:
        code = 422 if isinstance(exc, ParseError) else 500 if isinstance(exc, ConfigError) else 503
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.put("/process", dependencies=[auth])
    async def process(request: Request) -> Any:
        """Open WebUI external document loader: raw bytes in, one document per section out."""
        filename = unquote(request.headers.get("x-filename", "")) or "document"
        limit = settings.parsing.max_file_mb * 1024 * 1024
        data = await request.body()
        if len(data) > limit:
            raise HTTPException(413, f"{filename}: larger than {settings.parsing.max_file_mb} MB "
                                     "(SCHOLARGRAPH_PARSING__MAX_FILE_MB)")
        if not data:
            raise HTTPException(422, f"{filename}: empty request body")
        suffix = _suffix_for(filename, request.headers.get("content-type"))
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_parse_bytes, data, filename, suffix, settings)

    @app.post("/ingest", dependencies=[auth])
    def ingest(
        files: list[UploadFile] = File(..., description="Paper files (pdf, docx, html, md, txt)."),
        kb: str = Form("default", description="Knowledge base (scope) to add them to."),
    ) -> JSONResponse:
        """Store uploads under the data dir (so the graph view can open them) and ingest them."""
        uploads = Path(settings.data_dir) / "uploads"
        stored: dict[str, str] = {}
        for upload in files:
            name = Path(upload.filename or "upload").name
            with tempfile.NamedTemporaryFile(dir=_ensure(uploads), delete=False) as tmp:
                shutil.copyfileobj(upload.file, tmp)
                tmp_path = Path(tmp.name)
            digest = content_hash(tmp_path)
            target = uploads / digest[:16] / name
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp_path.replace(target)
            stored[str(target)] = name
        with write_lock:
            report = lib().ingest(list(stored), scope=kb)
        shown = lambda p: stored.get(p, Path(p).name)  # noqa: E731
        body = {
            "kb": kb,
            "added": [shown(p) for p in report.added],
            "copied": [shown(p) for p in report.copied],
            "skipped": [shown(p) for p in report.skipped],
            "failed": [{"file": shown(p), "error": e} for p, e in report.failed],
            "paper_ids": {shown(p): pid for p, pid in report.paper_ids.items()},
            "pages": report.pages,
            "chunks": report.chunks,
            "seconds": round(report.wall_seconds, 3),
        }
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
        result = lib().search(q, kb or None, k=k, hops=hops, hybrid=hybrid, neighbour_budget=neighbour_budget)
        return result.to_json()

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

    @app.get("/graph", dependencies=[auth])
    def graph(kb: list[str] | None = Query(None)) -> dict[str, Any]:
        return lib().graph_json(kb or None)

    @app.get("/graph/view", response_class=HTMLResponse, dependencies=[auth])
    def graph_view(request: Request, kb: list[str] | None = Query(None)) -> HTMLResponse:
        from scholargraph.graph_view import render_graph_html

        params = [("key", request.query_params["key"])] if request.query_params.get("key") else []
        params += [("kb", s) for s in kb or []]
        query = "?" + urlencode(params) if params else ""

        def url(node: dict[str, Any]) -> str:
            return str(request.url_for("paper_file", paper_id=node["id"])) + query

        title = "Paper graph" + (f" — {', '.join(kb)}" if kb else "")
        return HTMLResponse(render_graph_html(lib().graph_json(kb or None), title=title, paper_url=url))

    return app


def _parse_bytes(data: bytes, filename: str, suffix: str, settings: Settings) -> list[dict[str, Any]]:
    """Parse uploaded bytes through a temp file with the right suffix; ParseError -> 422."""
    from scholargraph.ingest import SUPPORTED_SUFFIXES
    from scholargraph.parsing import parse_file

    if suffix not in SUPPORTED_SUFFIXES:
        raise HTTPException(422, f"{filename}: unsupported file type {suffix or '(none)'}; "
                                 f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    with tempfile.TemporaryDirectory(prefix="scholargraph-process-") as tmp:
        # The file's own name, so a paper with no printed title falls back to it, not "document".
        stem = re.sub(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_", "", Path(filename).stem)
        safe = re.sub(r"[^\w.-]+", "_", stem)[:120] or "document"
        path = Path(tmp) / f"{safe}{suffix}"
        path.write_bytes(data)
        try:
            paper = parse_file(path, settings.parsing)
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



def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def serve(settings: Settings | None = None) -> None:
    """Run the service with uvicorn on settings.service.host:port (``scholargraph serve``)."""
    import uvicorn

    settings = settings or Settings()
    host, port = settings.service.host, settings.service.port
    if not settings.service.api_key and host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s without an API key: anyone who can reach it can read and change the "
                    "library; set SCHOLARGRAPH_SERVICE__API_KEY", host)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
