"""Running the service: uvicorn on ``service.host:port``, refusing an open network bind, with
key-like query parameters masked in the access log."""

from __future__ import annotations

import copy
import ipaddress
import logging
import re
from typing import Any

from scholargraph.errors import ConfigError
from scholargraph.settings import Settings

log = logging.getLogger("scholargraph.faces.service")


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
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": f"{__name__}.RedactQuerySecrets"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def serve(settings: Settings | None = None) -> None:
    """Run the service with uvicorn on settings.service.host:port (``scholargraph serve``)."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    from scholargraph.faces.service.http_app import create_app

    settings = settings or Settings()
    check_bind(settings)
    # Requests run in parallel threads; a BLAS pool per product on top only spins (its threads
    # busy-wait for work): one BLAS thread made /search cost 5x less CPU (docs/performance.md).
    threadpool_limits(1, user_api="blas")
    uvicorn.run(create_app(settings), host=settings.service.host, port=settings.service.port, log_level="info",
                log_config=log_config())
