#!/usr/bin/env bash
# What the `server` test group needs beyond ./.venv: Debian's PostgreSQL (the tests start a
# throwaway cluster themselves), the psycopg driver, and Debian's caddy (the TLS proxy test). The
# Chroma server is chromadb's own CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "note: install Debian's postgresql for the server tests" >&2
  fi
fi
# Debian's caddy: tests/test_proxy.py runs compose/Caddyfile in front of the service.
if ! command -v caddy >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null
  else
    echo "note: install Debian's caddy for the proxy test" >&2
  fi
fi
.venv/bin/python -m pip install -q -e ".[dev,postgres]"
