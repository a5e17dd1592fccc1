"""Commands that keep a library running: `serve` (the HTTP service), `upgrade` and `doctor`."""

from __future__ import annotations

from typing import Optional

import typer

from scholargraph.errors import ScholarGraphError
from scholargraph.faces.cli.command_kit import library_of, setting_default, setting_option, settings_of
from scholargraph.faces.cli.terminal import err, fail, print_json
from scholargraph.settings import INHERIT


def upgrade(ctx: typer.Context) -> None:
    """Bring a library made by an older ScholarGraph up to date (nothing is re-embedded); safe to rerun."""
    try:
        changed = library_of(ctx).upgrade()
    except ScholarGraphError as exc:
        fail(exc)
    err.print(f"upgraded {changed} paper(s): their vectors are now kept in the graph for graph expansion"
              if changed else "nothing to upgrade")


def doctor(
    ctx: typer.Context,
    grace: Optional[float] = setting_option(
        "store.orphan_grace_s", "--grace", help="Seconds a vector must stay orphaned before it is deleted (default store.orphan_grace_s; "
        "0 when nothing else writes to the library)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Delete vectors a killed ingest left without a committed paper and parses nobody ingested
    (older than parsing.cache_ttl_s), then run `upgrade`; safe to rerun."""
    library = library_of(ctx)
    try:
        gone = library.sweep_orphans(grace)
        changed = library.upgrade()
    except ScholarGraphError as exc:
        fail(exc)
    if as_json:
        print_json({**gone.to_json(), "upgraded": changed})
        return
    err.print(f"removed {len(gone.chunks)} orphan chunk vector(s), {len(gone.papers)} orphan paper vector(s) and "
              f"{gone.stale_parses} waiting parse(s) nobody ingested; upgraded {changed} paper(s)")


def serve(
    ctx: typer.Context,
    host: Optional[str] = setting_option("service.host", "--host", help="Bind address (env SCHOLARGRAPH_SERVICE__HOST).",
                                       show_default=setting_default("service.host")),
    port: Optional[int] = setting_option("service.port", "--port", help="Port (env SCHOLARGRAPH_SERVICE__PORT).",
                                       show_default=setting_default("service.port")),
    insecure_no_auth: bool = setting_option(
        "service.insecure_no_auth", "--insecure-no-auth", default=False,
        help="Serve a non-loopback address without an API key (only behind a proxy that authenticates)."),
) -> None:
    """Run the HTTP service: Open WebUI external document loader, ingest, search, graph view."""
    from scholargraph.faces.service import check_bind, serve as run_service

    settings = settings_of(ctx).with_overrides({"service.host": host, "service.port": port,
                                              "service.insecure_no_auth": insecure_no_auth or INHERIT})
    service = settings.service
    try:
        if not service.insecure_no_auth:  # refuses before the URLs are printed; run_service warns otherwise
            check_bind(settings)
        _check_port_free(service.host, service.port)
    except ScholarGraphError as exc:
        fail(exc)
    base = f"http://{'[' + service.host + ']' if ':' in service.host else service.host}:{service.port}"
    docs = "" if service.api_key else f", API docs {base}/docs"
    err.print(f"ScholarGraph on {base}/ : graph view {base}/graph/view{docs} (Ctrl+C stops it)",
              highlight=False, soft_wrap=True)
    try:
        run_service(settings)
    except ScholarGraphError as exc:
        fail(exc)


def _check_port_free(host: str, port: int) -> None:
    """A busy port is one clear error up front, not uvicorn's 'address already in use' after its startup lines."""
    import socket

    from scholargraph.errors import ConfigError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no clash
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}. Another `scholargraph serve` or "
                          "program holds it: stop it, or pick another port with --port (service.port)") from None
