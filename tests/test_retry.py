"""The one retry helper: doubling back-off, a server's requested wait, and one clear error at the end."""

from __future__ import annotations

import logging

import pytest

from scholargraph.retry import Retry, RetryPolicy, overloaded


def _flaky(failures: list[BaseException]):
    """A call that raises each of ``failures`` in turn, then answers 'ok'; counts its calls."""
    calls = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    return call, calls


def test_retries_with_doubling_waits_then_answers(caplog):
    waits: list[float] = []
    call, calls = _flaky([Retry("HTTP 503"), Retry("HTTP 502"), Retry("HTTP 500")])
    policy = RetryPolicy.of("server at x", max_retries=3, backoff_s=0.5, sleep=waits.append)
    with caplog.at_level(logging.WARNING):
        assert policy.call(call, give_up=lambda exc: RuntimeError("gave up")) == "ok"
    assert waits == [0.5, 1.0, 2.0] and len(calls) == 4
    assert "server at x failed (HTTP 502); retry 2/3 in 1.00s" in caplog.text


def test_a_wait_the_server_asks_for_replaces_the_backoff_and_the_cap_holds():
    waits: list[float] = []
    call, _ = _flaky([Retry("busy", wait_s=7.0), Retry("busy"), Retry("busy")])
    policy = RetryPolicy.of("x", max_retries=3, backoff_s=1.0, max_wait_s=1.5, sleep=waits.append)
    policy.call(call, give_up=lambda exc: RuntimeError("gave up"))
    assert waits == [7.0, 1.5, 1.5]


def test_out_of_tries_raises_the_callers_error_naming_the_last_failure():
    waits: list[float] = []
    call, calls = _flaky([ConnectionError("refused")] * 5)
    policy = RetryPolicy.of("x", max_retries=2, backoff_s=0.1, retry_on=(ConnectionError,), sleep=waits.append)
    with pytest.raises(RuntimeError, match=r"after 3 tries: refused") as caught:
        policy.call(call, give_up=lambda exc: RuntimeError(f"after {policy.attempts} tries: {exc}"))
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert len(calls) == 3 and waits == [0.1, 0.2]


def test_a_refusal_that_is_not_retryable_fails_at_once():
    waits: list[float] = []
    call, calls = _flaky([ValueError("bad request")])
    policy = RetryPolicy.of("x", max_retries=4, backoff_s=0.1, sleep=waits.append)
    with pytest.raises(ValueError, match="bad request"):
        policy.call(call, give_up=lambda exc: RuntimeError("gave up"))
    assert len(calls) == 1 and waits == []


def test_negative_settings_mean_one_try_and_no_wait():
    policy = RetryPolicy.of("x", max_retries=-1, backoff_s=-2.0)
    assert policy.attempts == 1 and policy.backoff_s == 0.0


@pytest.mark.parametrize("status, again", [(429, True), (500, True), (503, True), (400, False), (404, False)])
def test_overloaded_statuses(status, again):
    assert overloaded(status) is again


def test_every_server_client_retries_through_this_helper():
    """One home for retries: no other engine module builds its own tenacity loop (the embedder,
    the chat LLM, Chroma, the graph database and Zotero differ only in what they pass here)."""
    import ast
    from pathlib import Path

    import scholargraph

    package = Path(scholargraph.__file__).parent
    own_loops = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "retry.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(name.split(".")[0] == "tenacity" for name in names):
                own_loops.append(str(path.relative_to(package)))
    assert own_loops == []
