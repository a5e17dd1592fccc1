#!/usr/bin/env bash
# Install ScholarGraph from scratch into ./.venv: system packages for OCR, then the Python package.
# Used by README's first command and by .ci/run, so a new machine and CI install the same way.
#
#   scripts/install.sh                 everything
#   scripts/install.sh --system-only   only the OCR tools (tesseract, poppler), e.g. in a Dockerfile
#
# SCHOLARGRAPH_NO_OCR=1 installs without the OCR tools (scanned PDFs then fail, with a message).
set -euo pipefail
cd "$(dirname "$0")/.."

OCR_APT="tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim poppler-utils"
STEPS=4
step() { echo "==> [$1/$STEPS] $2" >&2; }
die() { echo "error: $*" >&2; exit 1; }

ocr_ready() {
  command -v tesseract >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 \
    && tesseract --list-langs 2>/dev/null | grep -q chi_sim
}

step 1 "OCR tools for scanned PDFs (tesseract with eng + chi_sim, poppler)"
if ocr_ready; then
  echo "    already installed" >&2
elif [ "${SCHOLARGRAPH_NO_OCR:-0}" = "1" ]; then
  echo "    skipped (SCHOLARGRAPH_NO_OCR=1): scanned PDFs will not be read" >&2
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  # Another apt (unattended-upgrades, a second install) may hold the dpkg lock: wait for it.
  APT=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
  echo "    apt-get update (waits up to 5 min if another apt holds the lock)" >&2
  "${APT[@]}" update -qq || die "apt-get update failed: install $OCR_APT by hand, or rerun with SCHOLARGRAPH_NO_OCR=1"
  echo "    apt-get install $OCR_APT" >&2
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -qq $OCR_APT >/dev/null \
    || die "apt-get could not install $OCR_APT: install them by hand, or rerun with SCHOLARGRAPH_NO_OCR=1"
  ocr_ready || die "tesseract/poppler still missing after apt-get: install $OCR_APT, or rerun with SCHOLARGRAPH_NO_OCR=1"
else
  die "scanned PDFs need tesseract (eng, chi_sim) and poppler: install them (Debian/Ubuntu: sudo apt-get install $OCR_APT; macOS: brew install tesseract tesseract-lang poppler), or rerun with SCHOLARGRAPH_NO_OCR=1"
fi
[ "${1:-}" = "--system-only" ] && exit 0

PY=${PYTHON:-python3}
step 2 "virtual environment .venv ($PY)"
if [ -x .venv/bin/python ]; then
  echo "    reusing .venv" >&2
else
  "$PY" -m venv .venv || die "'$PY -m venv' failed: install Python 3.11+ with venv (Debian/Ubuntu: apt-get install python3-venv)"
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check)
INSTALL=("${PIP[@]}" install)
[ -t 1 ] || INSTALL+=(--progress-bar off)  # a log gets one line per package, not redrawn bars

step 3 "ScholarGraph and its dependencies (pip; several minutes on a fresh .venv: chromadb, unstructured, numpy)"
"${INSTALL[@]}" -q --upgrade pip
# one line per package fetched, and pip's errors (pipefail: pip's exit status decides)
"${INSTALL[@]}" -e ".[dev]" 2>&1 | { grep -E --line-buffered "^(Collecting|Successfully installed|ERROR)" >&2 || true; } \
  || die "pip install -e '.[dev]' failed (see above)"

step 4 "unstructured-inference without its dependencies (they would pull a CUDA torch)"
# OCR (and parsing.pdf_reader='unstructured') go through unstructured's partition_pdf, which imports
# unstructured-inference; its own dependencies would replace the CPU stack with a CUDA torch, so it
# goes in without them. Without it, text-layer PDFs still parse and OCR names this command.
"${INSTALL[@]}" -q --no-deps "unstructured-inference==1.6.14"
.venv/bin/scholargraph --help >/dev/null || die ".venv/bin/scholargraph does not start (see above)"
echo "installed: .venv/bin/scholargraph is ready; next: .venv/bin/scholargraph ingest PATH" >&2
