"""Helpers for the end-to-end tests: a handle on a running Open WebUI and what an admin does in it."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stub_llm import MODEL, StubLLM

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-owui"
OPEN_WEBUI = VENV / "bin" / "open-webui"
FUNCTIONS = REPO / "plugin" / "openwebui"
PASSWORD = "correct horse battery staple 1"

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class OpenWebUI:
    """A running Open WebUI with helpers for its REST API."""

    url: str
    stub: StubLLM
    data_dir: Path
    library_dir: Path
    log: Path
    process: subprocess.Popen
    parse_cache: Path = Path()  # parsing.cache_dir shared by the loader service and Open WebUI's functions
    tokens: dict[str, str] = field(default_factory=dict)
    install_output: str = ""

    def api(self, method: str, path: str, token: str | None = None, timeout: float = 300, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.request(method, self.url + path, headers=headers, timeout=timeout, **kwargs)

    def ok(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = self.api(method, path, token, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text[:800]}"
        return response.json()

    def log_lines(self, needle: str) -> list[str]:
        """Lines of Open WebUI's log (its functions log there) that contain ``needle``."""
        return [line for line in self.log.read_text(errors="replace").splitlines() if needle in line]

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def run_installer(owui: OpenWebUI, key: str, *extra: str) -> tuple[int, str]:
    """compose/install_functions.py as docs/openwebui.md has an admin run it: a URL and an API key."""
    import contextlib
    import importlib.util
    import io
    import sys

    spec = importlib.util.spec_from_file_location("install_functions", REPO / "compose" / "install_functions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["install_functions"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = module.main({}, argv=["--url", owui.url, "--api-key", key, "--wait", "30", *extra])
    return code, out.getvalue()


INSTALL_ARGS = (
    "--valves", '{"scholargraph_filter": {"top_k": 6, "hops": 1, "neighbour_budget": 4, "file_handler": true}}',
    "--assistant-model", MODEL,  # the stub is only an Open WebUI connection: no ScholarGraph LLM valves
    "--share-models", "*",  # users chat through BYPASS_MODEL_ACCESS_CONTROL: give them the graph too
)


def upload(owui: OpenWebUI, token: str, path: Path, timeout: float = 300, fails: bool = False) -> dict:
    """Upload a file and wait until Open WebUI has processed it (with the document loader: until
    ScholarGraph's PUT /process answered). ``fails``: the processing must fail; returns its state."""
    with open(path, "rb") as handle:
        record = owui.ok("POST", "/api/v1/files/", token, files={"file": (path.name, handle, "application/pdf"
                                                                          if path.suffix == ".pdf" else "text/plain")})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = owui.ok("GET", f"/api/v1/files/{record['id']}/process/status", token)
        if state.get("status") == "completed" and not fails:
            return record
        if state.get("status") == "failed":
            if fails:  # the error, as Open WebUI's web client reads it (the status stream)
                return record | {"process": _streamed_status(owui, token, record["id"])}
            raise AssertionError(f"Open WebUI failed to process {path.name}: {state}\n{owui.log_tail()}")
        if state.get("status") == "completed":
            raise AssertionError(f"{path.name} was processed, but should have failed")
        time.sleep(0.5)
    raise AssertionError(f"{path.name} not processed in {timeout} s\n{owui.log_tail()}")


def _streamed_status(owui: OpenWebUI, token: str, file_id: str) -> dict:
    import json

    with httpx.stream("GET", f"{owui.url}/api/v1/files/{file_id}/process/status", params={"stream": "true"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=60) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                return json.loads(line[5:])
    return {}


def wait_indexed(owui: OpenWebUI, token: str, file_ids: list[str], timeout: float = 300) -> dict[str, dict]:
    """Wait until ScholarGraph's Event function recorded each file as indexed (file meta)."""
    deadline = time.monotonic() + timeout
    states: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for file_id in file_ids:
            meta = owui.ok("GET", f"/api/v1/files/{file_id}", token).get("meta") or {}
            states[file_id] = meta.get("scholargraph") or {}
        failed = {k: v for k, v in states.items() if v.get("status") == "failed"}
        assert not failed, failed
        if all(s.get("status") == "indexed" for s in states.values()):
            return states
        time.sleep(1)
    raise AssertionError(f"not indexed in {timeout} s: {states}\n{owui.log_tail()}")


def scanned_page(shared_data: Path, target: Path, index: int) -> Path:
    """One page of the shared scanned book (image only, no text layer): one page of OCR, not eight."""
    import pypdfium2 as pdfium

    book = pdfium.PdfDocument(shared_data / "scanned" / "small_ocr.pdf")
    scan = pdfium.PdfDocument.new()
    scan.import_pages(book, [index])
    scan.save(target)
    return target


@dataclass
class Loader:
    """The ScholarGraph service serving Open WebUI as its External document loader, in a thread of
    the test process: ``parsed`` names every file it really parsed (not taken from the parse cache),
    ``calls`` every request it answered."""

    url: str
    key: str
    parsed: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def install_args(self) -> tuple[str, ...]:
        return ("--loader-url", self.url, "--loader-key", self.key)


# Three papers of one family: S2ORC (ACL 2020) is cited by PaperMage and CiteSee (2023).
S2ORC = "2020.acl-main.447.pdf"
PAPERS = [S2ORC, "papermage.pdf", "2302.07302v1.pdf"]


@dataclass
class KB:
    id: str
    files: dict[str, str]  # file name -> Open WebUI file id
    titles: dict[str, str]  # file name -> paper title ScholarGraph parsed
