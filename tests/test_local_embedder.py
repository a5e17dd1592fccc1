"""The embedded default model loads offline from its package and is cross-lingual."""

import os
import subprocess
import sys

import numpy as np

from scholargraph.embedding.local import LocalEmbedder


def test_vectors_are_normalised_and_cross_lingual():
    emb = LocalEmbedder()
    docs = emb.embed_documents([
        "Graph neural networks recommend citations for scientific papers.",
        "A recipe for baking chocolate cake at home.",
    ])
    assert docs.shape == (2, 512) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    query = emb.embed_queries(["用于科学论文引文推荐的图神经网络"])[0]
    assert query @ docs[0] > query @ docs[1] + 0.2


def test_loads_with_hub_offline_in_a_fresh_process():
    code = "from scholargraph.embedding.local import LocalEmbedder; print(LocalEmbedder().embed_documents(['x']).shape)"
    env = dict(os.environ, HF_HUB_OFFLINE="1", NO_PROXY="*", HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "(1, 512)" in out.stdout
