"""``PUT /process``: the route Open WebUI's external document loader calls.

It follows the contract of Open WebUI's ``ExternalDocumentLoader``
(``open_webui/retrieval/loaders/external_document.py``, 0.12.x): the raw file bytes as the
body, headers ``Content-Type``, ``Authorization: Bearer KEY`` and ``X-Filename`` (the file's
base name, URL-quoted), and it reads back ``{page_content, metadata}`` or a list of them. The
route only receives the bytes (size limit enforced while reading); ``faces.openwebui.loader``
turns them into one document per section, with page numbers in the metadata.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from scholargraph.faces.openwebui.loader import process_upload, user_filename
from scholargraph.faces.service.service_state import ServiceState
from scholargraph.faces.uploads import UploadTooLarge, remove_quietly, safe_filename, spool_body


def add_loader_routes(app: FastAPI, state: ServiceState) -> None:
    """The ``PUT /process`` route on ``app``, over ``state``."""
    settings = state.settings

    @app.put("/process", dependencies=[state.auth])
    async def process(request: Request) -> Any:
        """Open WebUI external document loader: raw bytes in, one document per section out."""
        filename = safe_filename(request.headers.get("x-filename"), "document")
        state.declared_too_large(request, filename)
        try:
            path = await spool_body(request.stream(), state.incoming, state.limit_bytes, filename)
        except UploadTooLarge:
            raise state.too_large(filename) from None
        try:
            if path.stat().st_size == 0:
                raise HTTPException(422, f"{user_filename(filename)}: empty request body")
            return await run_in_threadpool(process_upload, path, filename, request.headers.get("content-type"), settings)
        finally:
            remove_quietly(path)
