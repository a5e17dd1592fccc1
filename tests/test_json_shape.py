"""One JSON shape for a search result: `scholargraph search --json` and the service's `/search`
print the same keys (and, for the same question on the same library, the same values), so a script
written against one face reads the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from scholargraph.faces.cli import app
from scholargraph.faces.service import create_app
from scholargraph.settings import Settings

QUESTION = "Which toolkit does PaperMage depend on for access to vision models?"
# What a script reads and what the CLI used to leave out.
HIT_FIELDS = {"paper_id", "title", "section", "page", "score", "text", "chunk_id", "authors", "year", "source"}
NEIGHBOUR_FIELDS = {"paper_id", "title", "relation", "via", "via_title", "hop", "score", "text", "why",
                    "authors", "year", "source"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, shared_data) -> Path:
    """Two papers, PaperMage citing LayoutParser, so a search with one hop has a neighbour."""
    folder = tmp_path_factory.mktemp("json-shape")
    papers = [shared_data / "papers" / name for name in ("papermage.pdf", "layout-parser-paper-fast.pdf")]
    result = CliRunner().invoke(app, ["--data-dir", str(folder), "ingest", *map(str, papers)])
    assert result.exit_code == 0, result.output
    return folder


def test_cli_and_service_print_the_same_search_json(data_dir):
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "search", QUESTION, "--hops", "1", "--json"])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    with TestClient(create_app(Settings(data_dir=data_dir))) as client:
        response = client.get("/search", params={"q": QUESTION, "hops": 1})
    assert response.status_code == 200, response.text
    http = response.json()

    assert cli["hits"] and cli["neighbours"], cli
    assert set(cli) == set(http) == {"query", "language", "hits", "neighbours"}
    for face in (cli, http):
        assert all(set(h) >= HIT_FIELDS for h in face["hits"]), face["hits"][0].keys()
        assert all(set(n) >= NEIGHBOUR_FIELDS for n in face["neighbours"]), face["neighbours"][0].keys()
    assert [set(h) for h in cli["hits"]] == [set(h) for h in http["hits"]]
    assert [set(n) for n in cli["neighbours"]] == [set(n) for n in http["neighbours"]]
    # the same library and question: the same passages in the same order, the same neighbour and why
    assert [h["chunk_id"] for h in cli["hits"]] == [h["chunk_id"] for h in http["hits"]]
    assert [(n["paper_id"], n["why"], n["hop"]) for n in cli["neighbours"]] == \
        [(n["paper_id"], n["why"], n["hop"]) for n in http["neighbours"]]
    layout = cli["neighbours"][0]
    assert layout["why"] == "cited by PaperMage" and layout["via_title"].startswith("PaperMage") and layout["hop"] == 1
    assert cli["hits"][0]["authors"] and cli["hits"][0]["source"].endswith(".pdf")
