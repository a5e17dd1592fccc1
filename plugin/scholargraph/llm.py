"""Chat LLM client for any OpenAI-compatible server (vLLM, llama.cpp, OpenAI): streaming, retries."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from scholargraph.errors import ConfigError, LLMError
from scholargraph.retry import Retry, RetryPolicy, overloaded
from scholargraph.settings import LLMSettings


def configured(settings: LLMSettings) -> bool:
    """Whether answers can be written by a chat LLM (else they are quoted: ``extractive``)."""
    return bool(settings.base_url and settings.model)


class ChatLLM:
    """Streams chat completions; retries connection failures and 429/5xx before any token arrives."""

    def __init__(self, settings: LLMSettings, max_retries: int | None = None, backoff_s: float | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        """``max_retries`` / ``backoff_s`` override ``llm.max_retries`` / ``llm.backoff_s``."""
        if not configured(settings):
            raise ConfigError("no chat LLM configured: set llm.base_url and llm.model "
                              "(SCHOLARGRAPH_LLM__BASE_URL, SCHOLARGRAPH_LLM__MODEL)")
        self.settings = settings
        self.max_retries = settings.max_retries if max_retries is None else max_retries
        self.backoff_s = settings.backoff_s if backoff_s is None else backoff_s
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.client = httpx.Client(base_url=settings.base_url.rstrip("/"), headers=headers,
                                   timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s), transport=transport)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield answer text pieces as the server sends them."""
        body = {"model": self.settings.model, "messages": messages, "stream": True,
                "temperature": self.settings.temperature}
        where = f"chat LLM at {self.settings.base_url}"
        policy = RetryPolicy.of(where, self.max_retries, self.backoff_s, retry_on=(Retry, httpx.TransportError))
        started = False
        try:
            for attempt in policy.retrying():
                with attempt:
                    try:
                        with self.client.stream("POST", "/chat/completions", json=body) as response:
                            if response.status_code >= 400:
                                response.read()
                                answered = f"{response.status_code}: {response.text[:300]}"
                                if overloaded(response.status_code):
                                    raise Retry(answered)
                                raise _refused(where, answered)
                            for piece in _sse_content(response.iter_lines()):
                                started = True
                                yield piece
                            return
                    except httpx.TransportError as exc:
                        if started:  # a retry would repeat what the reader already has
                            raise LLMError(f"{where} broke off mid-answer: {exc}") from exc
                        raise
        except Retry as exc:
            raise _refused(where, exc.why) from exc
        except httpx.TransportError as exc:
            raise LLMError(f"{where} unreachable after {policy.attempts} tries: {exc} (check llm.base_url / "
                           "SCHOLARGRAPH_LLM__BASE_URL)") from exc

    def complete(self, messages: list[dict[str, str]]) -> str:
        return "".join(self.stream(messages))


def _refused(where: str, answered: str) -> LLMError:
    return LLMError(f"{where} answered {answered} (check llm.model / SCHOLARGRAPH_LLM__MODEL)")


def _sse_content(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            delta = json.loads(data)["choices"][0].get("delta") or {}
        except (ValueError, KeyError, IndexError):
            continue
        if delta.get("content"):
            yield delta["content"]
