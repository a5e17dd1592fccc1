"""A person's view: log in to the real Open WebUI in headless Chromium, attach the knowledge base
with '#', ask, and see ScholarGraph's papers as sources; then open the paper graph.

Debian's chromium (/usr/bin/chromium) driven by Playwright for Python; no browser download.
Screenshots (openwebui-sources.png, openwebui-graph.png; a non-admin researcher's
openwebui-assistant-user.png, openwebui-graph-user.png, openwebui-graph-toggles-user.png,
openwebui-kb-files-user.png, openwebui-kb-state-user.png) land outside the work tree, in
$SCHOLARGRAPH_E2E_SHOTS or else <tmp>/scholargraph-e2e-shots; point the variable at docs/img to
refresh the documentation's pictures.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

import pytest

from owui import KB, PASSWORD, S2ORC, OpenWebUI, scanned_page, upload
from stub_llm import MODEL, OPENING
from test_openwebui import chat

pytestmark = [pytest.mark.openwebui, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("SCHOLARGRAPH_E2E_SHOTS") or Path(tempfile.gettempdir()) / "scholargraph-e2e-shots")
ANSWER = OPENING  # how the stub model's answers start
PIPE_MODEL = "scholargraph_pipe.scholargraph-assistant"


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (scripts/install-openwebui.sh puts it in .venv-owui)"
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} missing: apt-get install -y chromium"
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


QUESTION = "How do reading interfaces and PDF processing toolkits use the S2ORC corpus?"


def ask_in_the_browser(browser, owui: OpenWebUI, email: str, password: str, model: str, knowledge: str):
    """Sign in, open a chat with ``model``, attach ``knowledge`` with '#', ask, wait for the answer."""
    page = sign_in(browser, owui, email, password)
    page.goto(owui.url + f"/?models={model}", wait_until="domcontentloaded")
    page.wait_for_selector("#chat-input")
    page.wait_for_timeout(1500)
    welcome = page.get_by_text("Okay, Let's Go!")
    if welcome.count():
        welcome.click()
    box = page.locator("#chat-input")
    box.click()
    page.keyboard.type("#")
    page.get_by_text(knowledge, exact=True).first.click()
    box.click()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"text={ANSWER}", timeout=180_000)
    return page


def source_names(page) -> list[str]:
    page.get_by_role("button", name="Toggle").filter(has_text="Source").last.click()
    page.wait_for_timeout(800)
    sources = page.get_by_role("button", name="View source:")
    return [sources.nth(i).get_attribute("aria-label") for i in range(sources.count())]


def open_graph(page, shot: str) -> None:
    page.get_by_role("button", name="Show paper graph").last.click()
    frame = page.frame_locator("iframe").last
    frame.locator("svg .node").first.wait_for(timeout=60_000)
    assert frame.locator("svg .node").count() >= 2
    page.wait_for_timeout(1500)
    page.locator("iframe").last.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / shot), full_page=False)


def test_chat_with_the_knowledge_base_shows_paper_sources(browser, owui: OpenWebUI, admin: str, kb: KB):
    page = ask_in_the_browser(browser, owui, "admin@example.org", PASSWORD, MODEL, "Scholarly document processing")
    text = page.inner_text("body")
    assert kb.titles[S2ORC][:40] in text or "S2ORC" in text
    names = source_names(page)
    assert any("S2ORC" in n for n in names), names
    assert len(set(names)) >= 2, names  # the paper asked about and at least one graph neighbour
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "openwebui-sources.png"))
    open_graph(page, "openwebui-graph.png")
    page.close()


@pytest.fixture(scope="module")
def eve(owui: OpenWebUI, admin: str) -> dict:
    """A non-admin researcher."""
    return owui.ok("POST", "/api/v1/auths/add", admin, json={
        "name": "Eve Researcher", "email": "eve@example.org", "password": "eve pass 5", "role": "user"})


def sign_in(browser, owui: OpenWebUI, email: str, password: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(owui.url + "/auth", wait_until="domcontentloaded")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/auth" not in url)
    return page


def test_a_researcher_asks_the_assistant_and_opens_the_graph(browser, owui: OpenWebUI, admin: str, kb: KB, eve: dict):
    """A non-admin user with read access to the knowledge base: the Assistant answers through Open
    WebUI's own model connection, and "Show paper graph" works for her."""
    owui.ok("POST", f"/api/v1/knowledge/{kb.id}/access/update", admin, json={"access_grants": [
        {"principal_type": "user", "principal_id": eve["id"], "permission": "read"}]})
    page = ask_in_the_browser(browser, owui, "eve@example.org", "eve pass 5", PIPE_MODEL,
                              "Scholarly document processing")
    names = source_names(page)
    assert any("S2ORC" in n for n in names), names
    text = page.inner_text("body")
    assert "Quoted from your papers" not in text and ANSWER in text, text[-2000:]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "openwebui-assistant-user.png"))
    open_graph(page, "openwebui-graph-user.png")

    # the knowledge base's indexing state heads her graph, and its relation toggles work
    frame = page.frame_locator("iframe").last
    header = frame.locator("header")
    assert "Scholarly document processing: 3 of 3 papers indexed" in header.locator("h1").inner_text()
    before = header.locator("#count").inner_text()
    links = [k for k in ("similar", "shares_author", "cites")
             if frame.locator(f'input[data-kind="{k}"]').count() and "0 links" not in
             (frame.locator(f'input[data-kind="{k}"]').locator("xpath=..").get_attribute("title") or "0 links")]
    assert links, before
    frame.locator(f'input[data-kind="{links[0]}"]').uncheck()
    after = header.locator("#count").inner_text()
    assert after != before and "(of " in after, (before, after)
    frame.locator("#q").fill("S2ORC")
    assert "1 match" in frame.locator("#hits").inner_text()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "openwebui-graph-toggles-user.png"))
    page.close()



def _wait_failed(owui: OpenWebUI, token: str, file_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = (owui.ok("GET", f"/api/v1/files/{file_id}", token).get("meta") or {}).get("scholargraph") or {}
        if state.get("status") == "failed":
            return state
        assert state.get("status") != "indexed", state
        time.sleep(1)
    raise AssertionError(f"{file_id} not failed in {timeout} s\n{owui.log_tail()}")


def test_a_researcher_sees_which_papers_are_indexed_and_why_one_failed(
        browser, owui: OpenWebUI, admin: str, kb: KB, eve: dict, shared_data: Path, tmp_path: Path):
    """Her reading group's knowledge base on Open WebUI's own Knowledge page (the files; a broken
    PDF she uploads is refused with a message naming it), then a chat whose status line says how
    many papers ScholarGraph indexed and why one failed: a scan whose parse did not reach the
    functions (the loader's parse folder not shared), which they cannot OCR (pdf_strategy 'fast')."""
    group = owui.ok("POST", "/api/v1/knowledge/create", admin,
                    json={"name": "Reading group", "description": "Papers for Thursday's reading group"})
    for file_id in kb.files.values():  # the same uploads: no new parse, the papers are copied
        owui.ok("POST", f"/api/v1/knowledge/{group['id']}/file/add", admin, json={"file_id": file_id})
    scan = scanned_page(shared_data, tmp_path / "scan.pdf", 1)
    record = upload(owui, admin, scan)  # OCR'd by the loader for Open WebUI's own index
    (owui.parse_cache / f"{hashlib.sha256(scan.read_bytes()).hexdigest()}.json").unlink()
    owui.ok("POST", f"/api/v1/knowledge/{group['id']}/file/add", admin, json={"file_id": record["id"]})
    state = _wait_failed(owui, admin, record["id"])
    assert state["error"].startswith("scan.pdf: PDF has no text layer"), state
    owui.ok("POST", f"/api/v1/knowledge/{group['id']}/access/update", admin, json={"access_grants": [
        {"principal_type": "user", "principal_id": eve["id"], "permission": p} for p in ("read", "write")]})
    permissions = owui.ok("GET", "/api/v1/users/default/permissions", admin)
    permissions["workspace"]["knowledge"] = True  # docs/openwebui.md, step 6: users may open Knowledge
    owui.ok("POST", "/api/v1/users/default/permissions", admin, json=permissions)

    page = sign_in(browser, owui, "eve@example.org", "eve pass 5")
    page.goto(owui.url + f"/workspace/knowledge/{group['id']}", wait_until="domcontentloaded")
    rows = page.locator("[data-knowledge-row]")
    page.get_by_text("scan.pdf", exact=True).first.wait_for()
    broken = tmp_path / "broken-paper.pdf"
    broken.write_bytes(os.urandom(20_000))
    page.set_input_files("#files-input", str(broken))
    toast = page.locator("[data-sonner-toast]").filter(has_text="broken-paper.pdf: ")
    toast.first.wait_for(timeout=120_000)
    names = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert sum("scan.pdf" in n or ".pdf" in n for n in names) >= 4, names
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "openwebui-kb-files-user.png"))
    page.close()

    page = ask_in_the_browser(browser, owui, "eve@example.org", "eve pass 5", MODEL, "Reading group")
    line = "ScholarGraph: 3 of 4 papers indexed, 1 failed: scan.pdf — PDF has no text layer"
    # Open WebUI's own "Retrieved n sources" comes last; the history under it holds ScholarGraph's lines
    page.get_by_role("button", name="Toggle status history").last.click()
    page.get_by_text(line).first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "openwebui-kb-state-user.png"))
    page.close()

    # the Assistant's /status says the same, per knowledge base, for her
    token = owui.ok("POST", "/api/v1/auths/signin", json={"email": "eve@example.org", "password": "eve pass 5"})["token"]
    reply = chat(owui, token, "/status", [{"type": "collection", "id": group["id"]}], model=PIPE_MODEL)
    content = reply["choices"][0]["message"]["content"]
    assert "Reading group: 3 of 4 papers indexed, 1 failed: scan.pdf — PDF has no text layer" in content, content
