"""Chat LLM client for any OpenAI-compatible server (vLLM, llama.cpp, OpenAI): streaming, retries."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from scholargraph.errors import ConfigError, LLMError
from scholargraph.settings import LLMSettings

RETRY_STATUS = {429, 500, 502, 503, 504}


def configured(settings: LLMSettings) -> bool:
    """Whether answers can be written by a chat LLM (else they are quoted: ``extractive``)."""
    return bool(settings.base_url and settings.model)


class ChatLLM:
    """Streams chat completions; retries connection failures and 429/5xx before any token arrives."""

    def __init__(self, settings: LLMSettings, max_retries: int = 3, backoff_s: float = 0.5,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not configured(settings):
            raise ConfigError("no chat LLM configured: set llm.base_url and llm.model "
                              "(SCHOLARGRAPH_LLM__BASE_URL, SCHOLARGRAPH_LLM__MODEL)")
        self.settings = settings
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self.client = httpx.Client(base_url=settings.base_url.rstrip("/"), headers=headers,
                                   timeout=httpx.Timeout(settings.timeout_s, connect=10.0), transport=transport)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield answer text pieces as the server sends them."""
        body = {"model": self.settings.model, "messages": messages, "stream": True,
                "temperature": self.settings.temperature}
        delay = self.backoff_s
        started = False
        for attempt in range(self.max_retries + 1):
            try:
                with self.client.stream("POST", "/chat/completions", json=body) as response:
                    if response.status_code in RETRY_STATUS and attempt < self.max_retries:
                        time.sleep(delay)
                        delay *= 2
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise LLMError(f"chat LLM at {self.settings.base_url} answered {response.status_code}: "
                                       f"{response.text[:300]} (check llm.model / SCHOLARGRAPH_LLM__MODEL)")
                    for piece in _sse_content(response.iter_lines()):
                        started = True
                        yield piece
                    return
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                if started:  # a retry would repeat what the reader already has
                    raise LLMError(f"chat LLM at {self.settings.base_url} broke off mid-answer: {exc}") from exc
                if attempt >= self.max_retries:
                    raise LLMError(f"chat LLM at {self.settings.base_url} unreachable after "
                                   f"{self.max_retries + 1} tries: {exc} (check llm.base_url / "
                                   "SCHOLARGRAPH_LLM__BASE_URL)") from exc
                time.sleep(delay)
                delay *= 2

    def complete(self, messages: list[dict[str, str]]) -> str:
        return "".join(self.stream(messages))


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
