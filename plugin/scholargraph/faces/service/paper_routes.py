"""The library's papers over HTTP: list, show, delete, their files, citation exports, the
reading list and the graph as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, Response

from scholargraph.errors import ScholarGraphError
from scholargraph.faces.service.service_state import ServiceState
from scholargraph.library import Library

if TYPE_CHECKING:
    from scholargraph.graph.rows import PaperRow


def add_paper_routes(app: FastAPI, state: ServiceState) -> None:
    """The paper, export, reading-list and graph routes on ``app``, over ``state``."""
    auth = state.auth

    # The rows go out as plain JSON objects (the schema FastAPI would read off a dict annotation).
    @app.get("/papers", dependencies=[auth], response_model=list[dict[str, Any]])
    def papers(kb: list[str] | None = Query(None)) -> list[PaperRow]:
        return state.library().papers(kb or None)

    @app.delete("/papers/{paper_id}", dependencies=[auth])
    def delete_paper(paper_id: str, kb: str | None = Query(None, description="Only from this scope.")) -> dict[str, Any]:
        with state.write_lock:
            found = state.library().delete(paper_id, scope=kb)
        if not found:
            raise HTTPException(404, f"no paper {paper_id}" + (f" in '{kb}'" if kb else ""))
        return {"deleted": paper_id, "kb": kb}

    @app.get("/papers/{paper_id}/file", name="paper_file", dependencies=[auth])
    def paper_file(paper_id: str, kb: list[str] | None = Query(None)) -> FileResponse:
        """The paper's own file, when its origin is still on disk with the same content."""
        library = state.library()
        paper = library.get_paper(paper_id, kb or None)
        if paper is None:
            raise HTTPException(404, f"no paper {paper_id}")
        found = library.paper_file(paper)
        if found is None:
            raise HTTPException(404, f"the file of paper {paper_id} is no longer at {Path(paper.get('source') or '')}")
        return FileResponse(found, filename=found.name, content_disposition_type="inline")

    @app.get("/papers/{paper_id}", dependencies=[auth])
    def show_paper(paper_id: str, kb: list[str] | None = Query(None)) -> dict[str, Any]:
        """Metadata, abstract, sections, citations in and out of the library, citing and similar papers."""
        data = state.library().show_paper(paper_id, kb or None)
        if data is None:
            raise HTTPException(404, f"no paper {paper_id}")
        return data

    @app.get("/export", dependencies=[auth])
    def export(
        format: str = Query("bibtex", description="bibtex, ris or csl-json"),
        kb: list[str] | None = Query(None),
        paper: list[str] | None = Query(None, description="Only these paper ids; repeat for several."),
    ) -> Response:
        formats = Library.export_formats()
        if format not in formats:
            raise HTTPException(422, f"unknown format {format!r}; use one of {', '.join(formats)}")
        try:
            text = state.library().export(format, kb or None, paper or None)
        except ScholarGraphError as exc:
            raise HTTPException(404, str(exc)) from exc
        media_type, suffix = formats[format]
        return Response(text, media_type=f"{media_type}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="library{suffix}"'})

    @app.get("/reading-list", dependencies=[auth])
    def reading_list(
        kb: list[str] | None = Query(None),
        min_citing: int = Query(2, ge=1),
        limit: int | None = Query(None, ge=1),
    ) -> list[dict[str, Any]]:
        """Works several library papers cite that the library does not hold, the most cited first."""
        return state.library().reading_list(kb or None, min_citing=min_citing, limit=limit)

    @app.get("/graph", dependencies=[auth])
    def graph(kb: list[str] | None = Query(None)) -> dict[str, Any]:
        return state.library().graph_json(kb or None)
