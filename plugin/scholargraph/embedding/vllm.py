"""Client of a vLLM (or any OpenAI-compatible) ``/v1/embeddings`` server, e.g. Qwen3-Embedding on a GPU.

Vectors travel as base64 little-endian float32 (a quarter of the JSON float size and exact).
Batches go out on a small thread pool, so the public methods stay synchronous and work the
same from plain code, from threads and from inside a running asyncio loop. Overload (429,
5xx), timeouts and dropped connections are retried with doubling back-off; any other refusal
is the user's to fix, so it fails at once with vLLM's own message and a hint.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import numpy as np

from scholargraph.embedding.instructions import (
    check_overrides,
    format_document,
    format_query,
    instruction_for,
    resolve_style,
)
from scholargraph.errors import ConfigError, EmbeddingError
from scholargraph.retry import Retry, RetryPolicy, overloaded, server_wait_s
from scholargraph.settings import EmbeddingSettings

log = logging.getLogger(__name__)

# (substring of the lower-cased model name, tokens it reads in one pass); first match wins.
KNOWN_MAX_INPUT_TOKENS: tuple[tuple[str, int], ...] = (("qwen3-embedding", 32768),)
_PROBE_TEXT = "dimension probe"


def known_max_input_tokens(model: str, default: int) -> int:
    """Input limit of a known model family; ``default`` (``embedding.default_max_input_tokens``) when unknown."""
    name = model.lower().replace("_", "-")
    for key, tokens in KNOWN_MAX_INPUT_TOKENS:
        if key in name:
            return tokens
    return default


def _sleep(seconds: float) -> None:
    """Back-off wait; a module function so tests can record waits instead of sleeping."""
    time.sleep(seconds)


class VLLMEmbedder:
    """``Embedder`` over ``POST {base_url}/embeddings``; thread-safe, one HTTP connection pool."""

    def __init__(
        self,
        settings: EmbeddingSettings,
        dimension: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``dimension``: the size expected when ``settings.dimensions`` is unset (e.g. from an
        existing collection); without either, the first call discovers it. ``transport``
        replaces the network, for tests."""
        try:
            self.instruction_style = resolve_style(settings.instruction_style, settings.model)
            check_overrides(settings.instructions)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self.settings = settings
        self.name = settings.model
        # The limit vLLM enforces (``max_model_len`` on GET /models); learned by learn_server_limit().
        self.server_max_len: int | None = None
        self.base_url = settings.base_url.rstrip("/")
        self.url = f"{self.base_url}/embeddings"
        self._dimension: int | None = settings.dimensions or dimension
        self._dimension_lock = threading.Lock()  # guards _dimension
        self._probe_lock = threading.Lock()  # one probe at a time
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(settings.timeout_s),
            headers=headers,
            limits=httpx.Limits(max_connections=max(1, settings.max_concurrency)),
        )

    # -- the Embedder protocol --------------------------------------------------------------
    @property
    def dimension(self) -> int:
        """Vector length; asks the server once (one probe text) when no setting says it."""
        if self._dimension is None:
            with self._probe_lock:
                if self._dimension is None:
                    self._post([_PROBE_TEXT])  # _check_dimension records the size
        assert self._dimension is not None
        return self._dimension

    @property
    def max_input_tokens(self) -> int:
        """Longest text embedded in one pass: the setting, else what the server enforces, else
        the model family's known limit."""
        return (self.settings.max_input_tokens or self.server_max_len
                or known_max_input_tokens(self.name, self.settings.default_max_input_tokens))

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        """Passage vectors; Qwen3 documents go bare, E5 ones behind ``passage: ``."""
        return self._embed([format_document(t, self.instruction_style) for t in texts])

    def embed_queries(self, texts: list[str], task: str = "retrieve") -> np.ndarray:
        """Query vectors behind the task's instruction (``embedding.instructions`` overrides)."""
        instruction_for(task, self.settings.instructions)  # unknown task: fail before any request
        return self._embed(
            [format_query(t, task, self.instruction_style, self.settings.instructions) for t in texts]
        )

    # -- service ----------------------------------------------------------------------------
    def health(self) -> list[str]:
        """Ids of the models the server serves; raises ``EmbeddingError`` unless ours is one."""
        served = [str(card["id"]) for card in self._model_cards()]
        if self.name not in served:
            raise EmbeddingError(
                f"model {self.name!r} is not served by {self.base_url} (it serves: "
                f"{', '.join(served) or 'nothing'}); set embedding.model to one of those, or start "
                f"vLLM with --served-model-name {self.name}"
            )
        return served

    def _model_cards(self, timeout_s: float | None = None) -> list[dict[str, Any]]:
        """The model list of GET /models (one dict per served model); ``EmbeddingError`` saying
        what to check when the server is unreachable or answers something else."""
        url = f"{self.base_url}/models"
        try:
            response = self._client.get(url, timeout=timeout_s if timeout_s is not None else self.settings.timeout_s)
        except httpx.TimeoutException as exc:
            raise EmbeddingError(
                f"embedding server {url} did not answer within {self.settings.timeout_s:g}s; check that "
                "vLLM is up (it needs a minute to load a model) or raise embedding.timeout_s"
            ) from exc
        except httpx.TransportError as exc:
            raise EmbeddingError(
                f"cannot reach the embedding server at {url} ({exc}); check that vLLM is running "
                "and that embedding.base_url points at it (it ends in /v1)"
            ) from exc
        if response.status_code != 200:
            message = _server_message(response)
            raise EmbeddingError(
                f"embedding server {url} answered HTTP {response.status_code}: {message}"
                f"{_hint(response.status_code, message)}"
            )
        try:
            cards: list[dict[str, Any]] = response.json()["data"]
            if not all(isinstance(card, dict) and "id" in card for card in cards):
                raise TypeError("a model card without an id")
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(
                f"{url} did not return an OpenAI-style model list; is embedding.base_url "
                "an OpenAI-compatible server (vLLM: http://HOST:8000/v1)?"
            ) from exc
        return cards

    def learn_server_limit(self) -> int | None:
        """Read the model's ``max_model_len`` from vLLM's GET /models, once, best effort.

        vLLM may be started with a shorter ``--max-model-len`` than the model allows, and then
        refuses longer texts with a 400. Knowing the limit, whole-paper vectors fall back to
        pooled chunks and every request asks vLLM to truncate at it. Servers that do not report
        it (other OpenAI-compatible ones) keep the model's known limit and get no extra field.
        """
        if self.settings.max_input_tokens:
            return None
        try:
            cards = self._model_cards(timeout_s=min(10.0, self.settings.timeout_s))
        except EmbeddingError as exc:
            log.warning("could not read the model limit (%s); assuming %d tokens", exc, self.max_input_tokens)
            return None
        found = [card.get("max_model_len") for card in cards if card["id"] == self.name]
        if found and isinstance(found[0], int) and found[0] > 0:
            self.server_max_len = found[0]
        return self.server_max_len

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def __enter__(self) -> VLLMEmbedder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._post(texts)

    def _post(self, texts: list[str]) -> np.ndarray:
        """All texts, in batches of ``batch_size``, at most ``max_concurrency`` in flight."""
        # An empty string is zero tokens, which some servers refuse; a space embeds as "nothing".
        texts = [t if t.strip() else " " for t in texts]
        size = max(1, self.settings.batch_size)
        batches = [texts[i : i + size] for i in range(0, len(texts), size)]
        workers = min(max(1, self.settings.max_concurrency), len(batches))
        if workers == 1:
            parts = [self._post_batch(b) for b in batches]
        else:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sg-embed")
            try:
                parts = list(pool.map(self._post_batch, batches))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        vectors = np.vstack(parts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)

    def _body(self, batch: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.name, "input": batch, "encoding_format": "base64"}
        if self.settings.dimensions:
            body["dimensions"] = self.settings.dimensions
        limit = self.settings.max_input_tokens or self.server_max_len
        if limit:
            # Our chunk sizes are word estimates; the model's tokenizer may count more. vLLM cuts
            # the text at the model's limit (as sentence-transformers does) instead of a 400.
            body["truncate_prompt_tokens"] = limit
        return body

    def _post_batch(self, batch: list[str]) -> np.ndarray:
        """One request, retried on overload and network trouble; the batch's vectors in order."""
        body = self._body(batch)
        policy = RetryPolicy.of(f"embedding request to {self.url}", self.settings.max_retries,
                                self.settings.backoff_s, sleep=lambda seconds: _sleep(seconds))
        return policy.call(self._try_batch, body, len(batch), give_up=lambda exc: self._gave_up(policy, exc))

    def _try_batch(self, body: dict[str, Any], expected: int) -> np.ndarray:
        """One try: the vectors, ``Retry`` on overload or network trouble, else ``EmbeddingError``."""
        try:
            response = self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            raise Retry(f"no answer within {self.settings.timeout_s:g}s") from exc
        except httpx.TransportError as exc:
            raise Retry(f"connection failed ({type(exc).__name__}: {exc})") from exc
        if response.status_code == 200:
            return self._decode(response, expected)
        message = _server_message(response)
        status = response.status_code
        if not overloaded(status):
            raise EmbeddingError(
                f"embedding server {self.url} refused the request for model {self.name!r}: "
                f"HTTP {status}: {message}{_hint(status, message)}"
            )
        retry_after = _retry_after(response)  # a longer wait than embedding.max_retry_after_s: treated as down
        raise Retry(f"HTTP {status}: {message}",
                    wait_s=None if retry_after is None else min(retry_after, self.settings.max_retry_after_s))

    def _gave_up(self, policy: RetryPolicy, exc: BaseException) -> EmbeddingError:
        return EmbeddingError(
            f"embedding server {self.url} failed for model {self.name!r} after {policy.attempts} "
            f"attempt(s); last error: {getattr(exc, 'why', exc)}. Check that vLLM is running and reachable "
            f"(GET {self.base_url}/models), that it serves {self.name!r} (embedding.model); if it is "
            "overloaded, lower embedding.batch_size or embedding.max_concurrency, or raise "
            "embedding.timeout_s or embedding.max_retries."
        )

    def _decode(self, response: httpx.Response, expected: int) -> np.ndarray:
        """Rows in input order (by ``index``), as float32, whether base64 or a float list."""

        def bad(why: str) -> EmbeddingError:
            return EmbeddingError(
                f"embedding server {self.url} answered model {self.name!r} with an unusable body "
                f"({why}); is embedding.base_url an OpenAI-compatible embeddings server?"
            )

        try:
            data = response.json()["data"]
        except (ValueError, KeyError, TypeError) as exc:
            raise bad("no 'data' list in the JSON") from exc
        if not isinstance(data, list) or len(data) != expected:
            raise bad(f"{len(data) if isinstance(data, list) else 'no'} vectors for {expected} texts")
        rows: list[np.ndarray | None] = [None] * expected
        for item in data:
            index = item.get("index") if isinstance(item, dict) else None
            if not isinstance(index, int) or not 0 <= index < expected or rows[index] is not None:
                raise bad(f"missing, repeated or out-of-range index {index!r}")
            embedding = item.get("embedding")
            try:
                if isinstance(embedding, str):
                    rows[index] = np.frombuffer(base64.b64decode(embedding), dtype="<f4")
                else:
                    rows[index] = np.asarray(embedding, dtype=np.float32)
            except (ValueError, TypeError) as exc:
                raise bad(f"embedding {index} is neither base64 float32 nor a list of floats") from exc
        sizes = {row.shape for row in rows if row is not None}
        if len(sizes) != 1 or len(next(iter(sizes))) != 1 or next(iter(sizes))[0] == 0:
            raise bad(f"vectors of shapes {sorted(sizes)}")
        # every row is set (the index checks above): native order, writable copy
        vectors = np.vstack([row for row in rows if row is not None]).astype(np.float32)
        self._check_dimension(vectors.shape[1])
        return vectors

    def _check_dimension(self, got: int) -> None:
        """Keep vectors of one size per embedder: a mismatch would corrupt its collection."""
        with self._dimension_lock:
            if self._dimension is None:
                self._dimension = got
            expected = self._dimension
        if got != expected:
            raise EmbeddingError(
                f"embedding server {self.url} returned {got}-dimensional vectors for model "
                f"{self.name!r}, but {expected} were expected; check that embedding.model "
                "and embedding.dimensions match the server (vLLM only shortens vectors when started "
                "with --hf-overrides '{\"is_matryoshka\": true}')"
            )


def _server_message(response: httpx.Response) -> str:
    """vLLM's error text: ``{"error": {"message"}}`` (recent) or ``{"message"}`` (older)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        if body.get("message"):
            return str(body["message"])
        if body.get("detail"):  # FastAPI validation errors
            return str(body["detail"])
    return str(body)[:500]


def _hint(status: int, message: str) -> str:
    """What the user most likely has to change, from the status and vLLM's message."""
    text = message.lower()
    if status in (401, 403):
        return "; check embedding.api_key (vLLM's --api-key)"
    if status == 404:
        return "; check embedding.model against GET /models and that embedding.base_url ends in /v1"
    if "matryoshka" in text or "dimension" in text:
        return (
            "; this server cannot shorten vectors to embedding.dimensions: unset it, or start vLLM "
            "with --hf-overrides '{\"is_matryoshka\": true}' and a size the model supports"
        )
    if "context length" in text or "too long" in text or ("maximum" in text and "token" in text):
        return "; a text is longer than the model reads: lower embedding.max_input_tokens or chunking.max_tokens"
    if "embedding" in text and ("support" in text or "task" in text):
        return "; serve an embedding model with `--runner pooling` (older vLLM: `--task embed`)"
    return ""


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (Retry-After), if any."""
    return server_wait_s(response.headers.get("Retry-After"))
