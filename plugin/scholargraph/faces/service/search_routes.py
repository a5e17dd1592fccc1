"""``GET /search`` and ``GET /library/overview``: the same JSON the CLI prints with ``--json``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query

from scholargraph.faces.service.service_state import ServiceState


def add_search_routes(app: FastAPI, state: ServiceState) -> None:
    """The search routes on ``app``, over ``state``."""

    @app.get("/search", dependencies=[state.auth])
    def search(
        q: str = Query(..., min_length=1, description="The question, in any language."),
        kb: list[str] | None = Query(None, description="Scopes to search; repeat for several; none = all."),
        k: int | None = Query(None, ge=1, le=200),
        hops: int | None = Query(None, ge=0, le=3),
        hybrid: bool | None = Query(None),
        neighbour_budget: int | None = Query(None, ge=0, le=50),
    ) -> dict[str, Any]:
        """Passages and graph neighbours; the same JSON as `scholargraph search --json` (SearchResult.to_json)."""
        result = state.library().search(q, kb or None, k=k, hops=hops, hybrid=hybrid,
                                         neighbour_budget=neighbour_budget)
        json: dict[str, Any] = result.to_json()
        return json

    @app.get("/library/overview", dependencies=[state.auth])
    def library_overview(kb: list[str] | None = Query(None, description="Scopes; repeat for several; none = all.")
                         ) -> dict[str, Any]:
        """The library's themes, in-library citation counts and citations between its papers; the
        same JSON as `scholargraph search --scope library --json` (the pack questions about the
        whole library are answered from)."""
        json: dict[str, Any] = state.library().overview(kb or None).to_json()
        return json
