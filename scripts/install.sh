#!/usr/bin/env bash
# Install ScholarGraph from scratch into ./.venv: system packages for OCR, then the Python package.
# Used by README's first command and by .ci/run, so a new machine and CI install the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  if ! command -v tesseract >/dev/null || ! command -v pdftoppm >/dev/null \
     || ! tesseract --list-langs 2>/dev/null | grep -q chi_sim; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim poppler-utils >/dev/null
  fi
else
  echo "note: install tesseract-ocr (eng, chi_sim) and poppler-utils for scanned PDFs" >&2
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"
# unstructured's PDF code imports unstructured-inference even for the text-layer strategy; its own
# dependencies would replace the CPU stack with a CUDA torch, so it goes in without them.
.venv/bin/python -m pip install -q --no-deps "unstructured-inference==1.6.14"
echo "installed: $(.venv/bin/scholargraph --help >/dev/null && echo scholargraph CLI ready)"
