"""The chat LLM client: retries before the first token, never after (the reader has the text)."""

from __future__ import annotations

import json

import httpx
import pytest

from scholargraph.errors import ConfigError, LLMError
from scholargraph.llm import ChatLLM, configured
from scholargraph.settings import LLMSettings


class _BreaksOff(httpx.SyncByteStream):
    def __iter__(self):
        yield f"data: {json.dumps({'choices': [{'delta': {'content': 'Half an answer'}}]})}\n\n".encode()
        raise httpx.ReadError("connection reset")


def test_a_stream_that_breaks_off_is_not_retried():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_BreaksOff())

    llm = ChatLLM(LLMSettings(base_url="http://llm.test/v1", model="m"), backoff_s=0.0,
                  transport=httpx.MockTransport(handler))
    pieces = []
    with pytest.raises(LLMError, match="broke off mid-answer"):
        for piece in llm.stream([{"role": "user", "content": "q"}]):
            pieces.append(piece)
    assert pieces == ["Half an answer"] and len(calls) == 1


def test_a_server_that_is_down_is_retried_then_named_with_its_setting():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused")

    llm = ChatLLM(LLMSettings(base_url="http://llm.test/v1", model="m"), max_retries=2, backoff_s=0.0,
                  transport=httpx.MockTransport(handler))
    with pytest.raises(LLMError, match="unreachable after 3 tries.*llm.base_url"):
        llm.complete([{"role": "user", "content": "q"}])
    assert len(calls) == 3


def test_no_llm_configured():
    assert not configured(LLMSettings()) and configured(LLMSettings(base_url="http://x/v1", model="m"))
    with pytest.raises(ConfigError, match="llm.base_url"):
        ChatLLM(LLMSettings(base_url="http://x/v1"))
