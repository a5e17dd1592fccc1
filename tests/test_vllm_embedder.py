"""The vLLM client against pytest-httpx playing a vLLM /v1/embeddings server.

Response and error shapes follow vLLM's OpenAI-compatible server: ``data[i]`` carries
``index`` and ``embedding`` (base64 little-endian float32 when asked), and errors are
``{"error": {"message", "type", "param", "code"}}`` (older releases: flat ``{"object": "error",
"message", ...}``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time

import httpx
import numpy as np
import pytest

from scholargraph.embedding import vllm as vllm_module
from scholargraph.embedding.base import Embedder
from scholargraph.embedding.instructions import DEFAULT_INSTRUCTIONS
from scholargraph.embedding.vllm import VLLMEmbedder
from scholargraph.errors import ConfigError, EmbeddingError
from scholargraph.settings import EmbeddingSettings

BASE = "http://vllm.test:8000/v1"
URL = f"{BASE}/embeddings"
MODEL = "Qwen/Qwen3-Embedding-0.6B"
MATRYOSHKA_MESSAGE = (
    "Model does not support matryoshka representation, changing output dimensions will lead to "
    "poor results."
)


def make_settings(**changes) -> EmbeddingSettings:
    values = dict(
        backend="vllm", model=MODEL, base_url=BASE, batch_size=32, max_concurrency=4,
        timeout_s=5.0, max_retries=2, backoff_s=0.001,
    )
    values.update(changes)
    return EmbeddingSettings(**values)


def b64(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def vllm_body(vectors: np.ndarray, order: list[int] | None = None, as_base64: bool = True) -> dict:
    """An embeddings response as vLLM writes it; ``order`` lists indices in the order sent."""
    order = list(range(len(vectors))) if order is None else order
    return {
        "id": "embd-test",
        "object": "list",
        "created": 1700000000,
        "model": MODEL,
        "data": [
            {
                "index": i,
                "object": "embedding",
                "embedding": b64(vectors[i]) if as_base64 else [float(x) for x in vectors[i]],
            }
            for i in order
        ],
        "usage": {"prompt_tokens": 3 * len(vectors), "total_tokens": 3 * len(vectors), "completion_tokens": 0},
    }


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def sent(request: httpx.Request) -> dict:
    return json.loads(request.content)


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Back-off waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(vllm_module, "_sleep", waited.append)
    return waited


# -- requests ---------------------------------------------------------------------------------
def test_document_request_is_exact_and_unprefixed(httpx_mock):
    httpx_mock.add_response(url=URL, method="POST", json=vllm_body(unit_rows(2, 8)))
    emb = VLLMEmbedder(make_settings(), dimension=8)

    out = emb.embed_documents(["Graph neural networks.", "Citation recommendation."])

    request = httpx_mock.get_request()
    assert sent(request) == {
        "model": MODEL,
        "input": ["Graph neural networks.", "Citation recommendation."],
        "encoding_format": "base64",
    }
    assert "authorization" not in request.headers
    assert out.shape == (2, 8) and out.dtype == np.float32


def test_dimensions_and_api_key_are_sent_when_set(httpx_mock):
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 4)))
    emb = VLLMEmbedder(make_settings(dimensions=4, api_key="sekret"))

    emb.embed_documents(["x"])

    request = httpx_mock.get_request()
    assert sent(request)["dimensions"] == 4
    assert request.headers["authorization"] == "Bearer sekret"
    assert emb.dimension == 4  # from the setting, no probe


def test_queries_carry_the_qwen3_instruction_and_documents_do_not(httpx_mock):
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))
    emb = VLLMEmbedder(make_settings(instructions={"classify": "Classify the paper by field"}), dimension=8)
    assert emb.instruction_style == "qwen3"

    emb.embed_queries(["What reduces GNN over-smoothing?"])
    emb.embed_queries(["A paper on citation graphs"], task="related_papers")
    emb.embed_queries(["Some abstract"], task="classify")

    inputs = [sent(r)["input"] for r in httpx_mock.get_requests()]
    assert inputs == [
        [f"Instruct: {DEFAULT_INSTRUCTIONS['retrieve']}\nQuery:What reduces GNN over-smoothing?"],
        [f"Instruct: {DEFAULT_INSTRUCTIONS['related_papers']}\nQuery:A paper on citation graphs"],
        ["Instruct: Classify the paper by field\nQuery:Some abstract"],
    ]


def test_e5_model_gets_query_and_passage_prefixes(httpx_mock):
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))
    emb = VLLMEmbedder(make_settings(model="intfloat/multilingual-e5-small"), dimension=8)

    emb.embed_queries(["q"])
    emb.embed_documents(["d"])

    assert [sent(r)["input"] for r in httpx_mock.get_requests()] == [["query: q"], ["passage: d"]]


def test_unknown_task_fails_before_any_request():
    emb = VLLMEmbedder(make_settings(), dimension=8)
    with pytest.raises(ValueError, match="valid tasks: retrieve, related_papers, classify, cluster"):
        emb.embed_queries([], task="summarise")


def test_unknown_override_is_a_config_error():
    with pytest.raises(ConfigError, match="embedding.instructions.*'retreive'"):
        VLLMEmbedder(make_settings(instructions={"retreive": "typo"}))


# -- responses --------------------------------------------------------------------------------
def test_base64_vectors_decode_to_the_floats_sent(httpx_mock):
    raw = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32) * 5  # not unit length
    httpx_mock.add_response(url=URL, json=vllm_body(raw))
    emb = VLLMEmbedder(make_settings(), dimension=16)

    out = emb.embed_documents(["a", "b", "c"])

    expected = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)
    assert out.dtype == np.float32 and out.flags.writeable


def test_rows_follow_index_when_data_comes_out_of_order(httpx_mock):
    vectors = unit_rows(4, 8, seed=2)
    httpx_mock.add_response(url=URL, json=vllm_body(vectors, order=[2, 0, 3, 1]))
    emb = VLLMEmbedder(make_settings(), dimension=8)

    out = emb.embed_documents(["a", "b", "c", "d"])

    np.testing.assert_allclose(out, vectors, atol=1e-6)


def test_float_lists_are_accepted_from_servers_ignoring_base64(httpx_mock):
    vectors = unit_rows(2, 8, seed=3)
    httpx_mock.add_response(url=URL, json=vllm_body(vectors, as_base64=False))

    out = VLLMEmbedder(make_settings(), dimension=8).embed_documents(["a", "b"])

    np.testing.assert_allclose(out, vectors, atol=1e-6)


def test_wrong_vector_count_is_an_error(httpx_mock):
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))
    with pytest.raises(EmbeddingError, match="1 vectors for 2 texts"):
        VLLMEmbedder(make_settings(), dimension=8).embed_documents(["a", "b"])


def test_dimension_mismatch_is_an_error(httpx_mock):
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))
    with pytest.raises(EmbeddingError, match="returned 8-dimensional vectors.*1024 were expected"):
        VLLMEmbedder(make_settings(), dimension=1024).embed_documents(["a"])


def test_dimension_is_discovered_once_with_a_probe(httpx_mock):
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 12)))
    emb = VLLMEmbedder(make_settings())

    assert emb.dimension == 12
    assert emb.dimension == 12
    assert len(httpx_mock.get_requests()) == 1
    assert sent(httpx_mock.get_request())["input"] == ["dimension probe"]


def test_empty_input_sends_nothing_when_the_dimension_is_known():
    out = VLLMEmbedder(make_settings(), dimension=8).embed_documents([])
    assert out.shape == (0, 8) and out.dtype == np.float32


def test_it_satisfies_the_embedder_protocol():
    emb = VLLMEmbedder(make_settings(), dimension=8)
    assert isinstance(emb, Embedder)
    assert (emb.name, emb.dimension, emb.max_input_tokens) == (MODEL, 8, 32768)
    other = VLLMEmbedder(make_settings(model="BAAI/bge-small-en-v1.5"), dimension=8)
    assert other.max_input_tokens == 512 and other.instruction_style == "none"
    assert VLLMEmbedder(make_settings(max_input_tokens=8192), dimension=8).max_input_tokens == 8192


# -- batching and concurrency -----------------------------------------------------------------
def one_hot_server(dim: int, delay_s: float = 0.0, stats: dict | None = None):
    """A callback answering text 'tN' with the unit vector e_N, so order is checkable."""
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        if stats is not None:
            with lock:
                stats["now"] += 1
                stats["peak"] = max(stats["peak"], stats["now"])
        time.sleep(delay_s)
        texts = sent(request)["input"]
        vectors = np.zeros((len(texts), dim), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row, int(text[1:])] = 1.0
        if stats is not None:
            with lock:
                stats["now"] -= 1
        return httpx.Response(200, json=vllm_body(vectors, order=list(range(len(texts)))[::-1]))

    return answer


def test_batches_of_batch_size_and_rows_in_input_order(httpx_mock):
    httpx_mock.add_callback(one_hot_server(16), url=URL, is_reusable=True)
    emb = VLLMEmbedder(make_settings(batch_size=4), dimension=16)

    out = emb.embed_documents([f"t{i}" for i in range(10)])

    sizes = sorted(len(sent(r)["input"]) for r in httpx_mock.get_requests())
    assert sizes == [2, 4, 4]  # ceil(10 / 4) requests
    np.testing.assert_array_equal(out, np.eye(16, dtype=np.float32)[:10])


def test_concurrency_is_bounded_by_max_concurrency(httpx_mock):
    stats = {"now": 0, "peak": 0}
    httpx_mock.add_callback(one_hot_server(16, delay_s=0.05, stats=stats), url=URL, is_reusable=True)
    emb = VLLMEmbedder(make_settings(batch_size=2, max_concurrency=2), dimension=16)

    out = emb.embed_documents([f"t{i}" for i in range(16)])

    assert len(httpx_mock.get_requests()) == 8
    assert stats["peak"] == 2
    np.testing.assert_array_equal(out, np.eye(16, dtype=np.float32))


def test_works_when_called_from_inside_a_running_event_loop(httpx_mock):
    httpx_mock.add_callback(one_hot_server(8), url=URL, is_reusable=True)
    emb = VLLMEmbedder(make_settings(batch_size=2), dimension=8)

    async def inside_loop() -> np.ndarray:
        return emb.embed_documents([f"t{i}" for i in range(6)])

    out = asyncio.run(inside_loop())
    np.testing.assert_array_equal(out, np.eye(8, dtype=np.float32)[:6])


# -- retries and errors -----------------------------------------------------------------------
def test_503_is_retried_then_succeeds(httpx_mock, sleeps):
    httpx_mock.add_response(url=URL, status_code=503, json={"error": {"message": "loading", "type": "ServiceUnavailable", "param": None, "code": 503}})
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))

    out = VLLMEmbedder(make_settings(), dimension=8).embed_documents(["a"])

    assert out.shape == (1, 8)
    assert len(httpx_mock.get_requests()) == 2
    assert sleeps == [0.001]


def test_backoff_doubles(httpx_mock, sleeps):
    for _ in range(3):
        httpx_mock.add_response(url=URL, status_code=502, text="Bad Gateway")
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))

    VLLMEmbedder(make_settings(max_retries=3, backoff_s=0.5), dimension=8).embed_documents(["a"])

    assert sleeps == [0.5, 1.0, 2.0]


def test_429_honours_retry_after(httpx_mock, sleeps):
    httpx_mock.add_response(url=URL, status_code=429, headers={"Retry-After": "2"}, json={"error": {"message": "busy", "type": "RateLimitError", "param": None, "code": 429}})
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))

    out = VLLMEmbedder(make_settings(), dimension=8).embed_documents(["a"])

    assert out.shape == (1, 8)
    assert sleeps == [2.0]


def test_timeouts_are_retried_then_reported(httpx_mock, sleeps):
    for _ in range(3):  # max_retries=2: three attempts
        httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=URL)
    emb = VLLMEmbedder(make_settings(), dimension=8)

    with pytest.raises(EmbeddingError) as info:
        emb.embed_documents(["a"])

    message = str(info.value)
    assert URL in message and MODEL in message
    assert "after 3 attempt(s)" in message and "no answer within 5s" in message
    assert "embedding.timeout_s" in message
    assert len(httpx_mock.get_requests()) == 3
    assert sleeps == [0.001, 0.002]


def test_connection_errors_are_retried(httpx_mock, sleeps):
    httpx_mock.add_exception(httpx.ConnectError("connection refused"), url=URL)
    httpx_mock.add_response(url=URL, json=vllm_body(unit_rows(1, 8)))

    assert VLLMEmbedder(make_settings(), dimension=8).embed_documents(["a"]).shape == (1, 8)
    assert len(sleeps) == 1


def test_400_surfaces_vllm_message_without_retrying(httpx_mock, sleeps):
    httpx_mock.add_response(
        url=URL,
        status_code=400,
        json={"error": {"message": MATRYOSHKA_MESSAGE, "type": "BadRequestError", "param": None, "code": 400}},
    )
    emb = VLLMEmbedder(make_settings(dimensions=256))

    with pytest.raises(EmbeddingError) as info:
        emb.embed_documents(["a"])

    message = str(info.value)
    assert MATRYOSHKA_MESSAGE in message and "HTTP 400" in message and URL in message
    assert "is_matryoshka" in message  # what to do about it
    assert len(httpx_mock.get_requests()) == 1 and sleeps == []


def test_400_in_the_older_flat_error_shape(httpx_mock, sleeps):
    httpx_mock.add_response(
        url=URL,
        status_code=400,
        json={"object": "error", "message": MATRYOSHKA_MESSAGE, "type": "BadRequestError", "param": None, "code": 400},
    )
    with pytest.raises(EmbeddingError, match="does not support matryoshka"):
        VLLMEmbedder(make_settings(dimensions=256)).embed_documents(["a"])
    assert sleeps == []


def test_404_unknown_model_names_the_setting(httpx_mock):
    httpx_mock.add_response(
        url=URL,
        status_code=404,
        json={"error": {"message": f"The model `{MODEL}` does not exist.", "type": "NotFoundError", "param": None, "code": 404}},
    )
    with pytest.raises(EmbeddingError, match="does not exist.*embedding.model"):
        VLLMEmbedder(make_settings(), dimension=8).embed_documents(["a"])


# -- health -----------------------------------------------------------------------------------
def models_body(*ids: str) -> dict:
    return {"object": "list", "data": [{"id": i, "object": "model", "owned_by": "vllm", "max_model_len": 32768} for i in ids]}


def test_health_lists_served_models(httpx_mock):
    httpx_mock.add_response(url=f"{BASE}/models", method="GET", json=models_body(MODEL))
    assert VLLMEmbedder(make_settings(), dimension=8).health() == [MODEL]


def test_health_fails_when_our_model_is_not_served(httpx_mock):
    httpx_mock.add_response(url=f"{BASE}/models", method="GET", json=models_body("other-model"))
    with pytest.raises(EmbeddingError, match="not served.*other-model.*--served-model-name"):
        VLLMEmbedder(make_settings(), dimension=8).health()


def test_health_fails_clearly_when_unreachable(httpx_mock):
    httpx_mock.add_exception(httpx.ConnectError("connection refused"), url=f"{BASE}/models")
    with pytest.raises(EmbeddingError, match="cannot reach.*embedding.base_url"):
        VLLMEmbedder(make_settings(), dimension=8).health()


# -- the server's context limit -------------------------------------------------------------------
def test_a_shorter_max_model_len_on_the_server_is_learned_and_sent_as_truncation(httpx_mock):
    """vLLM started with --max-model-len 8192 for a 32k model: whole papers must not go out whole."""
    from scholargraph.embedding.factory import make_embedder

    card = models_body(MODEL)
    card["data"][0]["max_model_len"] = 8192
    httpx_mock.add_response(url=f"{BASE}/models", method="GET", json=card)
    httpx_mock.add_response(url=URL, method="POST", json=vllm_body(unit_rows(1, 8)))
    emb = make_embedder(make_settings(dimensions=8))

    assert emb.max_input_tokens == 8192
    emb.embed_documents(["a whole paper"])
    assert sent(httpx_mock.get_request(method="POST"))["truncate_prompt_tokens"] == 8192


def test_the_setting_wins_over_the_server_and_skips_the_lookup(httpx_mock):
    from scholargraph.embedding.factory import make_embedder

    httpx_mock.add_response(url=URL, method="POST", json=vllm_body(unit_rows(1, 8)))
    emb = make_embedder(make_settings(dimensions=8, max_input_tokens=512))

    emb.embed_documents(["x"])
    assert emb.max_input_tokens == 512
    assert [r.method for r in httpx_mock.get_requests()] == ["POST"]
    assert sent(httpx_mock.get_request())["truncate_prompt_tokens"] == 512


def test_a_server_that_reports_no_limit_keeps_the_known_one_and_gets_no_extra_field(httpx_mock):
    from scholargraph.embedding.factory import make_embedder

    httpx_mock.add_response(url=f"{BASE}/models", method="GET",
                            json={"object": "list", "data": [{"id": MODEL, "object": "model"}]})
    httpx_mock.add_response(url=URL, method="POST", json=vllm_body(unit_rows(1, 8)))
    emb = make_embedder(make_settings(dimensions=8))

    emb.embed_documents(["x"])
    assert emb.max_input_tokens == 32768
    assert "truncate_prompt_tokens" not in sent(httpx_mock.get_request(method="POST"))


def test_an_unreachable_model_list_is_a_warning_not_a_failure(httpx_mock, caplog):
    from scholargraph.embedding.factory import make_embedder

    httpx_mock.add_exception(httpx.ConnectError("connection refused"), url=f"{BASE}/models")
    emb = make_embedder(make_settings(dimensions=8))

    assert emb.max_input_tokens == 32768
    assert "could not read the model limit" in caplog.text
