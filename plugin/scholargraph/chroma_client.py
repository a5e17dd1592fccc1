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
from typing import Any, Callable

import httpx

from scholargraph.errors import StoreError
from scholargraph.retry import RetryPolicy
from scholargraph.settings import StoreSettings


def server_url(settings: StoreSettings) -> str:
    scheme = "https" if settings.chroma_ssl else "http"
    return f"{scheme}://{settings.chroma_host}:{settings.chroma_port}"


def retry_policy(settings: StoreSettings) -> RetryPolicy:
    """How often and how patiently to ask the Chroma server: transport failures only."""
    return RetryPolicy.of(f"Chroma server at {server_url(settings)}", settings.max_retries, settings.backoff_s,
                          retry_on=(httpx.TransportError,), max_wait_s=30.0)


def request_timeout(settings: StoreSettings) -> httpx.Timeout:
    return httpx.Timeout(settings.timeout_s, connect=min(5.0, settings.timeout_s))


def _gave_up(policy: RetryPolicy) -> Callable[[BaseException], StoreError]:
    def error(exc: BaseException) -> StoreError:
        return StoreError(
            f"{policy.where} did not answer after {policy.attempts} tries "
            f"({type(exc).__name__}: {exc or 'no reply'}); is it running? "
            "See store.timeout_s and store.max_retries."
        )

    return error


class RetryingChroma:
    """A Chroma client or collection whose every call goes through one ``RetryPolicy``.

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
            return self._wrap(self._policy.call(attr, *args, give_up=_gave_up(self._policy), **kwargs))

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

    policy = retry_policy(settings)
    url = server_url(settings)
    timeout = request_timeout(settings)

    def open_client() -> Any:
        _heartbeat(url, timeout)  # the client's own first requests have no timeout
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                   ssl=settings.chroma_ssl, settings=chroma_settings)

    client = policy.call(open_client, give_up=_gave_up(policy))
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):  # chromadb 1.x builds it with timeout=None
        session.timeout = timeout
    return RetryingChroma(client, policy)
