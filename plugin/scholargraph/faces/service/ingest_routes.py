"""``POST /ingest``: uploaded papers stored under the data dir and ingested into a scope.

The files are kept (``uploads/<content hash>/<name>``) so the graph view can open them; files
refused or failing to ingest are deleted. The answer is ``IngestReport.to_json`` (the shape
``scholargraph ingest --json`` prints) with the scope added, each file under its uploaded name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from scholargraph.faces.service.service_state import ServiceState
from scholargraph.faces.uploads import (
    UploadRefused,
    UploadTooLarge,
    receive_multipart,
    remove_quietly,
    remove_upload,
    store_uploads,
)

if TYPE_CHECKING:
    from scholargraph.models import IngestReport

# /ingest parses its multipart body itself (to enforce the size limit while reading); this
# tells the OpenAPI schema what it takes.
INGEST_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {
        "files": {"type": "array", "items": {"type": "string", "format": "binary"},
                  "description": "Paper files (pdf, docx, html, md, txt)."},
        "kb": {"type": "string", "default": "default", "description": "Knowledge base (scope) to add them to."},
    }}}}}}


def add_ingest_routes(app: FastAPI, state: ServiceState) -> None:
    """The ``POST /ingest`` route on ``app``, over ``state``."""
    settings = state.settings
    uploads = state.uploads

    @app.post("/ingest", dependencies=[state.auth], openapi_extra=INGEST_BODY)
    async def ingest(request: Request) -> JSONResponse:
        """Store uploads under the data dir (so the graph view can open them) and ingest them.

        Multipart ``files`` (one or more) and ``kb``. Each file is written to disk as it
        arrives and refused (413) at the first byte over ``parsing.max_file_mb``; files that
        are refused or fail to ingest are deleted.
        """
        try:
            fields, received = await receive_multipart(
                request.headers.get("content-type", ""), request.stream(), state.incoming, state.limit_bytes,
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
            stored, new = await run_in_threadpool(store_uploads, received, uploads)

            def run() -> IngestReport:
                with state.write_lock:
                    return state.library().ingest(list(stored), scope=kb)

            report = await run_in_threadpool(run)
        except BaseException:
            for path in new:
                remove_upload(path, uploads)
            raise
        finally:
            for item in received:
                remove_quietly(item.path)
        failed = {p for p, _ in report.failed}
        for path in new:
            if str(path) in failed:
                remove_upload(path, uploads)
        body = {"kb": kb, **report.to_json(lambda p: stored.get(p, Path(p).name))}
        ok = report.added or report.copied or report.skipped
        return JSONResponse(body, status_code=200 if ok or not report.failed else 422)
