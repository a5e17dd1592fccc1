"""The graph page in headless Chromium, without Open WebUI: it fits its frame and window, keeps
the details panel inside, hides a relation on request, highlights what the search finds, and
counts in words ("1 paper, 1 link"). A screenshot per state lands outside the work tree, in
$SCHOLARGRAPH_E2E_SHOTS or else <tmp>/scholargraph-e2e-shots.

Run with the Open WebUI venv, which has Playwright: .venv-owui/bin/python -m pytest -m browser
tests/e2e/test_graph_page.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from scholargraph.faces.graph_page import render_graph_html

pytestmark = [pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("SCHOLARGRAPH_E2E_SHOTS") or Path(tempfile.gettempdir()) / "scholargraph-e2e-shots")

TITLES = [
    "SciBERT: A Pretrained Language Model for Scientific Text",
    "S2ORC: The Semantic Scholar Open Research Corpus, a very long title that would be clipped at the edge",
    "LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis",
    "PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating Visually-Rich Documents",
    "TableFormer: Table Structure Understanding with Transformers",
]
GRAPH = {
    "nodes": [{"id": f"p{i}", "title": t, "authors": ["A. Author"], "year": 2020 + i,
               "scopes": ["kb:papers" if i < 3 else "kb:toolkits"]} for i, t in enumerate(TITLES)],
    "edges": [
        {"source": "p1", "target": "p0", "kind": "cites"}, {"source": "p2", "target": "p0", "kind": "cites"},
        {"source": "p3", "target": "p0", "kind": "cites"}, {"source": "p3", "target": "p1", "kind": "cites"},
        {"source": "p3", "target": "p2", "kind": "similar", "weight": 0.91},
        {"source": "p4", "target": "p2", "kind": "similar", "weight": 0.55},
        {"source": "p0", "target": "p1", "kind": "shares_author", "weight": 2},
    ],
}


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (scripts/install-openwebui.sh puts it in .venv-owui)")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, html: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_content(html)
    page.locator("svg .node").first.wait_for()
    return page


def _inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def _all_inside(page) -> bool:
    frame = page.locator("svg#g").bounding_box()
    return all(_inside(page.locator("svg .node").nth(i).bounding_box(), frame) for i in range(len(TITLES)))


def test_the_graph_fits_its_frame_toggles_relations_and_searches(browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser, render_graph_html(GRAPH, title="Paper graph — papers, toolkits", height=480), 640, 560)
    assert page.inner_text("#count") == "5 papers, 7 links"
    assert _all_inside(page)  # every paper with its label, none clipped or off-canvas
    sizes = [float(page.locator("svg .node circle").nth(i).get_attribute("r")) for i in range(5)]
    assert sizes[0] == max(sizes) and sizes[0] > sizes[4]  # cited by three library papers
    colours = {page.locator("svg .node circle").nth(i).get_attribute("fill") for i in range(5)}
    assert len(colours) == 2 and page.locator("#kbs span").all_inner_texts() == ["papers", "toolkits"]
    similar = page.locator("line[stroke-dasharray='4 3']")
    strong, weak = (float(similar.nth(i).get_attribute("stroke-opacity")) for i in range(2))
    assert strong > weak
    page.screenshot(path=str(SHOTS / "graph-default.png"))

    page.set_viewport_size({"width": 1200, "height": 800})  # the window grows: so does the drawing
    page.wait_for_timeout(100)
    assert page.locator("svg#g").bounding_box()["width"] > 1000 and _all_inside(page)
    page.set_viewport_size({"width": 420, "height": 520})
    page.wait_for_timeout(100)
    assert _all_inside(page)

    page.locator("input[data-kind=similar]").uncheck()
    assert page.inner_text("#count") == "5 papers, 5 links (of 7)"
    assert all(not similar.nth(i).is_visible() for i in range(2))
    page.screenshot(path=str(SHOTS / "graph-similar-off.png"))

    page.fill("#q", "toolkit")
    assert page.inner_text("#hits") == "2 matches"
    assert page.locator("svg .node.match").count() == 2 and page.locator("svg .node.dim").count() == 3
    page.screenshot(path=str(SHOTS / "graph-search.png"))

    page.locator("svg .node circle").nth(1).click()
    panel = page.locator("#panel")
    assert panel.is_visible() and "S2ORC" in panel.inner_text()
    assert _inside(panel.bounding_box(), page.locator("#wrap").bounding_box())
    page.screenshot(path=str(SHOTS / "graph-details.png"))
    page.close()


def test_counts_are_in_words(browser):
    one = {"nodes": [{"id": "a", "title": "Only paper"}, {"id": "g", "title": "A cited work", "ghost": True}],
           "edges": [{"source": "a", "target": "g", "kind": "cites"}]}
    page = _open(browser, render_graph_html(one), 600, 500)
    assert page.inner_text("#count") == "1 paper, 1 link, 1 cited work not in the library (hollow)"
    page.fill("#q", "only")
    assert page.inner_text("#hits") == "1 match"
    page.close()
