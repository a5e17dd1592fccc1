"""A Chroma server connection that survives a restart and never hangs.

chromadb's ``HttpClient`` waits forever on a server that accepts but does not answer (its httpx
session has no timeout) and gives up at once on a refused connection. A chat should ride out a
Chroma restart, and a dead server should say so within seconds. So: a heartbeat with a timeout
before connecting, a timeout on every request, and every call retried on transport failures
(refused, dropped, timed out) with doubling back-off, then a ``StoreError`` naming the server.
Chroma's own answers (not found, bad request) are not retried: asking again would not change them.
Every Chroma write ScholarGraph makes is idempotent (upserts by stable id, deletes), so a retried
call whose first try did land is harmless.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import httpx
from tenacity import Retrying, before_sleep_log, retry_if_exception_type, stop_after_attempt, wait_exponential

from scholargraph.errors import StoreError
from scholargraph.settings import StoreSettings

log = logging.getLogger(__name__)


def server_url(settings: StoreSettings) -> str:
    scheme = "https" if settings.chroma_ssl else "http"
    return f"{scheme}://{settings.chroma_host}:{settings.chroma_port}"


class RetryPolicy:
    """How often and how patiently to ask the Chroma server before failing clearly."""

    def __init__(self, settings: StoreSettings) -> None:
        self.where = f"Chroma server at {server_url(settings)}"
        self.attempts = max(0, settings.max_retries) + 1
        self.backoff_s = max(0.0, settings.backoff_s)
        self.timeout = httpx.Timeout(settings.timeout_s, connect=min(5.0, settings.timeout_s))

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception_type(httpx.TransportError),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=30),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        try:
            return retrying(fn, *args, **kwargs)
        except httpx.TransportError as exc:
            raise StoreError(
                f"{self.where} did not answer after {self.attempts} tries "
                f"({type(exc).__name__}: {exc or 'no reply'}); is it running? "
                "See store.timeout_s and store.max_retries."
            ) from exc


class RetryingChroma:
    """A Chroma client or collection whose every call goes through a ``RetryPolicy``.

    Collections it hands out are wrapped the same way; plain attributes (name, metadata) pass
    through.
    """

    def __init__(self, target: Any, policy: RetryPolicy) -> None:
        self._target = target
        self._policy = policy

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._wrap(self._policy.call(attr, *args, **kwargs))

        return call

    def _wrap(self, result: Any) -> Any:
        from chromadb.api.models.Collection import Collection

        return RetryingChroma(result, self._policy) if isinstance(result, Collection) else result


def _heartbeat(url: str, timeout: httpx.Timeout) -> None:
    response = httpx.get(f"{url}/api/v2/heartbeat", timeout=timeout)
    if response.status_code >= 500:  # a proxy in front of a server that is still starting
        raise httpx.RemoteProtocolError(f"heartbeat answered {response.status_code}")


def connect(settings: StoreSettings, chroma_settings: Any) -> RetryingChroma:
    """An ``HttpClient`` to the configured server, once its heartbeat answers; retried, time-limited."""
    import chromadb

    policy = RetryPolicy(settings)
    url = server_url(settings)

    def open_client():
        _heartbeat(url, policy.timeout)  # the client's own first requests have no timeout
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                   ssl=settings.chroma_ssl, settings=chroma_settings)

    client = policy.call(open_client)
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):  # chromadb 1.x builds it with timeout=None
        session.timeout = policy.timeout
    return RetryingChroma(client, policy)
