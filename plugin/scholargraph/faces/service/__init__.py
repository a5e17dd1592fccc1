"""The HTTP face: Open WebUI's external document loader, ingest, search, papers and the graph.

``create_app(settings)`` builds the FastAPI app over one ``Library``; ``serve(settings)`` runs it
with uvicorn (``scholargraph serve``). Every route except ``/healthz`` wants
``Authorization: Bearer <settings.service.api_key>`` when that key is set, the OpenAPI schema
included (``/docs`` and ``/redoc`` are off then). The key is taken from that header only, never
from the query string: URLs end up in access logs, proxies and browser history.

One module per role: ``http_app`` (the app, its start-up jobs and error mapping),
``service_state`` (what every route shares), ``bearer_auth`` (the key check), ``loader_routes``
(``PUT /process``, Open WebUI's loader; the documents come from ``faces.openwebui.loader``),
``ingest_routes`` (``POST /ingest``; uploads stream to disk through ``faces.uploads`` with
``parsing.max_file_mb`` enforced while reading), ``search_routes``, ``paper_routes`` (papers,
exports, reading list, graph JSON), ``page_routes`` (the HTML pages) and ``serving`` (uvicorn,
the bind check, the access-log filter). Every route talks to the ``Library`` and nothing else.
"""

from scholargraph.faces.service.http_app import create_app
from scholargraph.faces.service.serving import check_bind, serve

__all__ = ["check_bind", "create_app", "serve"]
