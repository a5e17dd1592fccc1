#!/usr/bin/env bash
# Install a real Open WebUI 0.12.4 into ./.venv-owui for the end-to-end tests (tests/e2e, marker
# `openwebui`) and for trying the functions in plugin/openwebui/ locally. ~3 min, ~3 GB.
#   torch first: open-webui would otherwise pull a CUDA build of it.
#   scholargraph goes in editable, so functions imported into this Open WebUI import the work tree.
#   unstructured-inference without its dependencies, as in scripts/install.sh.
#   playwright (Python package only; the browser is Debian's chromium, never `playwright install`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

OWUI_VERSION=${OWUI_VERSION:-0.12.4}
PY=${PYTHON:-python3}
VENV=.venv-owui

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
if ! "$VENV/bin/python" -c "import open_webui" 2>/dev/null \
   || [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("open-webui"))')" != "$OWUI_VERSION" ]; then
  "$VENV/bin/python" -m pip install -q "torch==2.13.0"
  "$VENV/bin/python" -m pip install -q "open-webui==$OWUI_VERSION"
fi
"$VENV/bin/python" -m pip install -q -e ".[dev]"
"$VENV/bin/python" -m pip install -q --no-deps "unstructured-inference==1.6.14"
"$VENV/bin/python" -m pip install -q playwright

# The browser test drives Debian's chromium (no browser downloads on a closed network).
if ! [ -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: install Debian's chromium (/usr/bin/chromium) for the browser test" >&2
  fi
fi
echo "installed: open-webui $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("open-webui"))') in $VENV"
