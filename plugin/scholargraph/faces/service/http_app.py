"""The service's FastAPI app: start-up jobs, the engine's errors as HTTP codes, and the routes.

The library opens lazily, so the app answers ``/healthz`` at once; its start-up jobs (the
orphan vector sweep and an older library's upgrade) run in background threads.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from scholargraph import __version__
from scholargraph.errors import ConfigError, ParseError, ScholarGraphError
from scholargraph.faces.service.ingest_routes import add_ingest_routes
from scholargraph.faces.service.loader_routes import add_loader_routes
from scholargraph.faces.service.page_routes import add_page_routes
from scholargraph.faces.service.paper_routes import add_paper_routes
from scholargraph.faces.service.search_routes import add_search_routes
from scholargraph.faces.service.service_state import ServiceState
from scholargraph.faces.uploads import clear_stale
from scholargraph.library import Library
from scholargraph.settings import Settings

log = logging.getLogger("scholargraph.faces.service")


def create_app(settings: Settings | None = None, library: Library | None = None) -> FastAPI:
    """The FastAPI app over one library (opened on first use unless given)."""
    settings = settings or Settings()
    state = ServiceState(settings, library)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        clear_stale(state.incoming)
        _start_jobs(app, state)
        yield
        opened = state.opened()
        if opened is not None:
            opened.close()

    keyed = state.keyed
    # With a key, the schema pages are not public: /openapi.json is served behind the key below,
    # and the interactive /docs and /redoc (which a browser cannot load with a header) are off.
    app = FastAPI(title="ScholarGraph", version=__version__, lifespan=lifespan,
                  description="Graph-aware retrieval over a paper library; Open WebUI external document loader.",
                  openapi_url=None if keyed else "/openapi.json",
                  docs_url=None if keyed else "/docs", redoc_url=None if keyed else "/redoc")
    app.state.settings = settings
    app.state.library = state.library

    if keyed:
        @app.get("/openapi.json", include_in_schema=False, dependencies=[state.auth])
        def openapi() -> JSONResponse:
            if app.openapi_schema is None:
                app.openapi_schema = get_openapi(title=app.title, version=app.version,
                                                 description=app.description, routes=app.routes)
            return JSONResponse(app.openapi_schema)

    @app.exception_handler(ScholarGraphError)
    async def _engine_error(_request: Request, exc: ScholarGraphError) -> JSONResponse:
        code = 422 if isinstance(exc, ParseError) else 500 if isinstance(exc, ConfigError) else 503
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    for add_routes in (add_loader_routes, add_ingest_routes, add_search_routes, add_paper_routes, add_page_routes):
        add_routes(app, state)
    return app


def _start_jobs(app: FastAPI, state: ServiceState) -> None:
    """The orphan vector sweep, then an older library's upgrade: both off the request path.

    ``app.state.sweep`` / ``app.state.upgrade`` hold their threads (there is no upgrade thread
    when ``graph.upgrade_on_open`` is off). The library object opens nothing heavy itself; each
    job opens the stores inside its own thread and logs, never raises, what went wrong."""
    try:
        library = state.library()
    except Exception as exc:  # the requests will report why; the service still starts
        log.warning("start-up jobs (orphan vector sweep, library upgrade) did not run (%s)", exc)
        return
    app.state.sweep = library.start_sweep()
    upgrade = library.start_upgrade()
    if upgrade is not None:
        app.state.upgrade = upgrade
