"""The compose stack's TLS proxy (compose/Caddyfile) run for real: Debian's `caddy` in front of
`scholargraph serve`, with Caddy's internal CA standing in for Let's Encrypt.

Marker ``server`` (needs the caddy binary; scripts/install-servers.sh installs it)."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import free_port, unavailable

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[1]
CADDYFILE = REPO / "compose" / "Caddyfile"
KEY = "proxy-test-key"


def _wait(url: str, proc: subprocess.Popen, verify: object = True, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        assert proc.poll() is None, f"{proc.args[0]} exited"
        try:
            httpx.get(url, timeout=3, verify=verify)
            return
        except (httpx.HTTPError, OSError):
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


@contextmanager
def _running(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with open(log, "w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[dict]:
    caddy = shutil.which("caddy")
    if caddy is None:
        unavailable("caddy is not installed (Debian package caddy; scripts/install-servers.sh)", "server")
    tmp = tmp_path_factory.mktemp("proxy")
    service_port, https_port, http_port, admin_port = (free_port() for _ in range(4))
    service_env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "SCHOLARGRAPH_SERVICE__API_KEY": KEY}
    caddy_env = {
        **os.environ, "SITE_ADDRESS": f"localhost:{https_port}", "CADDY_TLS": "internal",
        "UPSTREAM": f"127.0.0.1:{service_port}", "HTTPS_PORT": str(https_port), "HTTP_PORT": str(http_port),
        "CADDY_ADMIN": f"127.0.0.1:{admin_port}", "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
    }
    scholargraph = Path(sys.executable).with_name("scholargraph")
    with _running([str(scholargraph), "--data-dir", str(tmp / "lib"), "serve", "--port", str(service_port)],
                  service_env, tmp / "service.log") as service:
        _wait(f"http://127.0.0.1:{service_port}/healthz", service)
        with _running([caddy, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"], caddy_env,
                      tmp / "caddy.log") as proxy:
            root = tmp / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
            deadline = time.time() + 60
            while not root.exists():
                assert proxy.poll() is None and time.time() < deadline, (tmp / "caddy.log").read_text()[-3000:]
                time.sleep(0.2)
            base = f"https://localhost:{https_port}"
            _wait(f"{base}/healthz", proxy, verify=ssl.create_default_context(cafile=str(root)))
            yield {"base": base, "root": ssl.create_default_context(cafile=str(root)), "http": f"http://localhost:{http_port}",
                   "admin": f"http://127.0.0.1:{admin_port}"}


def test_the_proxy_speaks_tls_with_its_certificate_and_forwards(proxied, shared_data: Path):
    with httpx.Client(base_url=proxied["base"], verify=proxied["root"], timeout=60) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert "max-age" in health.headers["strict-transport-security"]
        assert "server" not in {k.lower() for k in health.headers}
        # The service's own key check still holds behind the proxy.
        assert client.get("/papers").status_code == 401
        assert client.get("/papers", params={"key": KEY}).status_code == 401
        headers = {"Authorization": f"Bearer {KEY}"}
        assert client.get("/papers", headers=headers).json() == []
        # Open WebUI's external loader, through the proxy.
        body = (shared_data / "docs" / "sample.md").read_bytes()
        docs = client.put("/process", content=body, headers={**headers, "X-Filename": "sample.md",
                                                              "Content-Type": "text/markdown"})
        assert docs.status_code == 200 and docs.json()[0]["metadata"]["loader"] == "scholargraph"


def test_the_proxy_refuses_certificates_it_did_not_issue_and_redirects_plain_http(proxied):
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{proxied['base']}/healthz", timeout=10)  # the system store does not trust the test CA
    plain = httpx.get(f"{proxied['http']}/healthz", timeout=10, follow_redirects=False)
    assert plain.status_code in (301, 308) and plain.headers["location"].startswith("https://")


def test_the_compose_healthcheck_url_answers(proxied):
    """compose's healthcheck asks the admin API for its config on the container's loopback."""
    assert httpx.get(f"{proxied['admin']}/config/", timeout=10).status_code == 200
