"""One way to ask a server again: tenacity with doubling back-off, then one clear error.

The embedder (vLLM), the chat LLM and the Chroma client all talk to servers that may be
restarting or overloaded. They differ only in what counts as worth another try and in the
error a user reads when the tries run out, so those two are parameters and the rest lives here:
attempts, a first delay that doubles (capped), a wait the server asked for (Retry-After), a
warning per retry and, at the end, the caller's message instead of a bare traceback.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)

T = TypeVar("T")


class Retry(Exception):
    """Raised inside a retried call to ask for another try.

    ``why`` says what went wrong (it is logged and handed to the final message); ``wait_s`` is a
    wait the server asked for (Retry-After), used instead of the back-off for this one retry.
    """

    def __init__(self, why: str, wait_s: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.wait_s = wait_s


def server_wait_s(value: str | None) -> float | None:
    """Seconds a server asked us to wait (a Retry-After or Backoff header: seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def overloaded(status: int) -> bool:
    """HTTP statuses worth asking again: too many requests (429) and server errors (5xx)."""
    return status == 429 or status >= 500


def _why(exc: BaseException | None) -> str:
    if isinstance(exc, Retry):
        return exc.why
    return f"{type(exc).__name__}: {exc or 'no reply'}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to ask one server before failing clearly.

    ``attempts`` counts the first try; the n-th retry waits ``backoff_s * 2**(n-1)`` seconds, at
    most ``max_wait_s``. Only exceptions in ``retry_on`` are retried (``Retry`` by default): a
    refusal that asking again would not change goes straight through. ``sleep`` is looked up on
    each wait, so a caller can route it through a function tests replace.
    """

    where: str
    attempts: int
    backoff_s: float
    retry_on: tuple[type[BaseException], ...] = (Retry,)
    max_wait_s: float = float("inf")
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    @classmethod
    def of(cls, where: str, max_retries: int, backoff_s: float, **options: Any) -> RetryPolicy:
        """A policy from the ``max_retries`` / ``backoff_s`` fields every server group has."""
        return cls(where, max(0, max_retries) + 1, max(0.0, backoff_s), **options)

    def retrying(self) -> Retrying:
        """A tenacity ``Retrying`` that re-raises the last failure when the tries run out.

        Use it directly (``for attempt in policy.retrying(): with attempt: ...``) where the call
        cannot be one function, e.g. a stream that may be retried only before its first piece.
        """
        backoff = wait_exponential(multiplier=self.backoff_s, max=self.max_wait_s)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, Retry) and exc.wait_s is not None:
                return exc.wait_s
            return backoff(state)

        def warn(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            pause = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s failed (%s); retry %d/%d in %.2fs",
                        self.where, _why(exc), state.attempt_number, self.attempts - 1, pause)

        return Retrying(
            retry=retry_if_exception_type(self.retry_on),
            stop=stop_after_attempt(self.attempts),
            wait=wait,
            sleep=lambda seconds: self.sleep(seconds),
            before_sleep=warn,
            reraise=True,
        )

    def call(self, fn: Callable[..., T], *args: Any,
             give_up: Callable[[BaseException], Exception], **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, retried; when the tries run out, raise ``give_up(last failure)``."""
        try:
            return self.retrying()(fn, *args, **kwargs)
        except self.retry_on as exc:
            raise give_up(exc) from exc
