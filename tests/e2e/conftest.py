"""A real Open WebUI 0.12.4 for the end-to-end tests, started offline on a loopback port.

``scripts/install-openwebui.sh`` puts it in ``.venv-owui`` (with this work tree installed
editable, so the functions import it). Without that venv the tests skip, except under CI
(``CI=true``), where a missing venv is a failure. The chat LLM and Open WebUI's embedder
are the stub in ``stub_llm.py``; ScholarGraph's library lives in a throwaway data dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from owui import (  # noqa: E402
    INSTALL_ARGS, OPEN_WEBUI, PASSWORD, VENV, Loader, OpenWebUI, free_port, run_installer, upload, wait_indexed,
    KB, PAPERS,
)
from stub_llm import StubLLM  # noqa: E402


def _require_open_webui() -> None:
    if OPEN_WEBUI.exists():
        return
    reason = f"Open WebUI is not installed at {VENV} (run scripts/install-openwebui.sh)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def stub() -> StubLLM:
    server = StubLLM().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def owui(tmp_path_factory, stub: StubLLM) -> OpenWebUI:
    _require_open_webui()
    root = tmp_path_factory.mktemp("owui")
    port = free_port()
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("SCHOLARGRAPH_", "OPENAI_", "RAG_", "VIRTUAL_ENV"))
    }
    env.update({
        "PATH": f"{VENV / 'bin'}:{env.get('PATH', '')}",
        "DATA_DIR": str(root / "data"),
        "WEBUI_SECRET_KEY": "e2e-secret",
        "OFFLINE_MODE": "true",
        "HF_HUB_OFFLINE": "1",
        "ENABLE_OLLAMA_API": "false",
        "ENABLE_OPENAI_API": "true",
        "OPENAI_API_BASE_URL": stub.url,
        "OPENAI_API_KEY": "stub-key",
        "RAG_EMBEDDING_ENGINE": "openai",
        "RAG_EMBEDDING_MODEL": "stub-embedding",
        "RAG_OPENAI_API_BASE_URL": stub.url,
        "RAG_OPENAI_API_KEY": "stub-key",
        "RAG_EMBEDDING_BATCH_SIZE": "64",
        "ENABLE_VERSION_UPDATE_CHECK": "false",
        "ENABLE_TITLE_GENERATION": "false",
        "ENABLE_FOLLOW_UP_GENERATION": "false",
        "ENABLE_TAGS_GENERATION": "false",
        "ENABLE_AUTOCOMPLETE_GENERATION": "false",
        "ENABLE_RETRIEVAL_QUERY_GENERATION": "false",
        "BYPASS_MODEL_ACCESS_CONTROL": "true",  # users may chat with the stub model; knowledge stays private
        "ENABLE_API_KEYS": "true",  # the installer works with an admin's API key
        "SCARF_NO_ANALYTICS": "true",
        "DO_NOT_TRACK": "true",
        "ANONYMIZED_TELEMETRY": "false",
        "SCHOLARGRAPH_DATA_DIR": str(root / "scholargraph"),
        "SCHOLARGRAPH_PARSING__WORKERS": "0",  # parse (when it must) in a thread: its log lines reach Open WebUI's log
        # Uploads are parsed by the loader service (OCR included); the Event function takes that
        # parse from here. Were it to parse a scan itself, 'fast' would fail it: no text layer.
        "SCHOLARGRAPH_PARSING__PDF_STRATEGY": "fast",
        "SCHOLARGRAPH_PARSING__CACHE_DIR": str(root / "parsed"),
    })
    log = root / "open-webui.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(OPEN_WEBUI), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = OpenWebUI(f"http://127.0.0.1:{port}", stub, root / "data", root / "scholargraph", log, process,
                       parse_cache=root / "parsed")
    deadline = time.monotonic() + 240
    while True:
        if process.poll() is not None:
            pytest.fail(f"Open WebUI exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.terminate()
            pytest.fail(f"Open WebUI did not become healthy in 240 s:\n{server.log_tail()}")
        time.sleep(1)
    yield server
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    if os.environ.get("SCHOLARGRAPH_E2E_KEEP"):
        shutil.copy(log, Path(os.environ["SCHOLARGRAPH_E2E_KEEP"]) / "open-webui.log")


@pytest.fixture(scope="session")
def admin(owui: OpenWebUI) -> str:
    """The first signup becomes the admin."""
    body = owui.ok("POST", "/api/v1/auths/signup",
                   json={"name": "Ada Admin", "email": "admin@example.org", "password": PASSWORD})
    assert body["role"] == "admin"
    owui.tokens["admin"] = body["token"]
    return body["token"]


@pytest.fixture(scope="session")
def admin_key(owui: OpenWebUI, admin: str) -> str:
    """An admin's API key, as an admin makes one under Settings → Account."""
    return owui.ok("POST", "/api/v1/auths/api_key", admin)["api_key"]


@pytest.fixture(scope="session")
def loader(owui: OpenWebUI) -> Loader:
    """``scholargraph serve``'s app in a thread, as Open WebUI's External document loader (the
    documented setup), sharing ``parsing.cache_dir`` with Open WebUI's functions."""
    import uvicorn

    from scholargraph.faces.service import create_app
    from scholargraph.parsing import pipeline
    from scholargraph.settings import Settings

    port = free_port()
    found = Loader(f"http://127.0.0.1:{port}", "loader-key")
    real = {name: getattr(pipeline, name) for name in ("_extract_pdf", "_extract_markup")}

    def counted(name):
        def extract(path, *args):
            found.parsed.append(path.name)
            return real[name](path, *args)
        return extract

    for name in real:  # the test process parses only in this service
        setattr(pipeline, name, counted(name))
    settings = Settings(data_dir=owui.library_dir.parent / "service").with_overrides(
        {"service.api_key": found.key, "parsing.cache_dir": str(owui.parse_cache)})
    app = create_app(settings)

    @app.middleware("http")
    async def record_call(request, call_next):
        response = await call_next(request)
        found.calls.append({"path": request.url.path, "method": request.method, "status": response.status_code,
                            "filename": request.headers.get("x-filename"), "type": request.headers.get("content-type")})
        return response

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    yield found
    server.should_exit = True
    thread.join(timeout=10)
    for name, fn in real.items():
        setattr(pipeline, name, fn)


@pytest.fixture(scope="session")
def functions(owui: OpenWebUI, admin_key: str, loader: Loader) -> dict[str, dict]:
    code, out = run_installer(owui, admin_key, *INSTALL_ARGS, *loader.install_args)
    assert code == 0, out
    owui.install_output = out
    installed = {fid: owui.ok("GET", f"/api/v1/functions/id/{fid}", admin_key)
                 for fid in ("scholargraph_event", "scholargraph_filter", "scholargraph_pipe", "scholargraph_action")}
    types = {k: v["type"] for k, v in installed.items()}
    assert types == {"scholargraph_event": "event", "scholargraph_filter": "filter",
                     "scholargraph_pipe": "pipe", "scholargraph_action": "action"}, types
    return installed


@pytest.fixture(scope="session")
def kb(owui: OpenWebUI, admin: str, functions: dict, shared_data: Path) -> KB:
    knowledge = owui.ok("POST", "/api/v1/knowledge/create", admin,
                        json={"name": "Scholarly document processing", "description": "e2e papers"})
    files: dict[str, str] = {}
    started = time.monotonic()
    for name in PAPERS:
        record = upload(owui, admin, shared_data / "papers" / name)
        owui.ok("POST", f"/api/v1/knowledge/{knowledge['id']}/file/add", admin, json={"file_id": record["id"]})
        files[name] = record["id"]
    states = wait_indexed(owui, admin, list(files.values()))
    print(f"knowledge base uploaded and indexed by the Event function in {time.monotonic() - started:.1f} s")
    return KB(knowledge["id"], files, {name: states[fid]["title"] for name, fid in files.items()})
