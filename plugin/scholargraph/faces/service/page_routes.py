"""The service's HTML pages: the index of links and the interactive paper graph."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from scholargraph import __version__
from scholargraph.faces.graph_page import render_graph_html
from scholargraph.faces.service.service_state import ServiceState


def add_page_routes(app: FastAPI, state: ServiceState) -> None:
    """The ``/`` and ``/graph/view`` pages on ``app``, over ``state`` (behind the key like every route)."""

    @app.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=[state.auth])
    def index() -> HTMLResponse:
        """A page of links for whoever opens the bare address in a browser (behind the key like every page)."""
        links = [("graph/view", "Paper graph"), ("healthz", "Health")]
        if not state.keyed:
            links.insert(1, ("docs", "API documentation"))
        items = "".join(f'<li><a href="{href}">{name}</a> <code>/{href}</code></li>' for href, name in links)
        return HTMLResponse(f"<!doctype html><html><head><meta charset=\"utf-8\"><title>ScholarGraph</title></head>"
                            f"<body><h1>ScholarGraph {__version__}</h1><ul>{items}</ul></body></html>")

    @app.get("/graph/view", response_class=HTMLResponse, dependencies=[state.auth])
    def graph_view(
        request: Request,
        kb: list[str] | None = Query(None),
        reading_list: bool = Query(False, description="Also draw the reading list's works as ghost nodes."),
    ) -> HTMLResponse:
        params = [("kb", s) for s in kb or []]
        query = "?" + urlencode(params) if params else ""

        def url(node: dict[str, Any]) -> str:
            return str(request.url_for("paper_file", paper_id=node["id"])) + query

        title = "Paper graph" + (f" — {', '.join(kb)}" if kb else "")
        graph = state.library().graph_json(kb or None, reading_list=reading_list)
        return HTMLResponse(render_graph_html(graph, title=title, paper_url=url))
