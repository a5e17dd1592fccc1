"""`scholargraph chat`: question after question over one open library, typed on stdin (piped
here, as CliRunner feeds it): answers as `ask` gives them, slash commands that change the search
and show the last answer's sources, the model loaded once for the whole session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import scholargraph.embedding.factory as factory
from scholargraph.faces.cli import app

PAPERMAGE = ("PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating Visually-Rich "
             "Scientific Documents")
LAYOUTPARSER = "LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis"
NEIGHBOUR_QUESTION = "Which toolkit does PaperMage depend on for access to vision models?"
NO_LLM = {"COLUMNS": "400", "SCHOLARGRAPH_LLM__BASE_URL": "", "SCHOLARGRAPH_LLM__MODEL": ""}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, shared_data) -> Path:
    """Two papers, PaperMage citing LayoutParser, in the knowledge base 'docs'."""
    folder = tmp_path_factory.mktemp("chat-library")
    papers = [shared_data / "papers" / name for name in ("papermage.pdf", "layout-parser-paper-fast.pdf")]
    result = CliRunner().invoke(app, ["--data-dir", str(folder), "ingest", *map(str, papers), "--kb", "docs"])
    assert result.exit_code == 0, result.output
    return folder


def chat(data_dir: Path, *lines: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "chat", *args], input="\n".join(lines) + "\n",
                                env={**NO_LLM, **(env or {})})
    assert "Traceback" not in result.output, result.output
    return result


def listings(out: str) -> list[list[str]]:
    """Each /sources listing: the '[n] ...' lines that follow an answer's '(N sources: /sources)' hint."""
    got: list[list[str]] = []
    current: list[str] | None = None
    for line in out.splitlines():
        if line.endswith(": /sources)"):
            current = []
            got.append(current)
        elif current is not None and line.startswith("["):
            current.append(line)
        else:
            current = None
    return got


def test_chat_answers_each_question_and_shows_the_last_sources(data_dir, monkeypatch):
    made = []
    real = factory.make_embedder
    monkeypatch.setattr(factory, "make_embedder", lambda *a, **kw: made.append(1) or real(*a, **kw))
    result = chat(data_dir, "What is PaperMage?", "/sources", "", "What is LayoutParser?", "/sources", "/quit",
                  "What is never asked?")
    assert result.exit_code == 0, result.output
    out = result.stdout
    # each answer: quoted sentences cited [n], then a hint; /sources then lists the numbered sources
    answers = [line for line in out.splitlines() if line.rstrip().endswith("]") and not line.startswith("[")]
    assert len(answers) >= 2 and any("papermage" in a.lower() for a in answers), out
    first, second = listings(out)
    assert first[0].startswith(f"[1] {PAPERMAGE}") and second[0].startswith(f"[1] {LAYOUTPARSER}")
    assert out.count(": /sources)") == 2  # /quit ended the session: the third question was never answered
    assert made == [1]  # one model for every question
    # the no-LLM note says how to get written answers, once a session, not under every answer
    assert result.stderr.count("no chat LLM configured") == 1 and "--llm-url" in result.stderr


def test_slash_commands_change_the_search(data_dir):
    result = chat(data_dir, "/hops 1", NEIGHBOUR_QUESTION, "/sources", "/hops 0", NEIGHBOUR_QUESTION, "/sources",
                  "/k 1", NEIGHBOUR_QUESTION, "/sources", "/kb nowhere", "/kb docs", "/kb", "/hops 9", "/k x",
                  "/frobnicate", "/help")
    assert result.exit_code == 0, result.output
    out, errors = result.stdout, result.stderr
    with_hop, without_hop, one_passage = listings(out)
    assert with_hop[-1].startswith(f"[2] {LAYOUTPARSER}") and with_hop[-1].endswith(" — cited by [1] PaperMage")
    assert [line[:len(PAPERMAGE) + 4] for line in without_hop] == [f"[1] {PAPERMAGE}"]  # no graph neighbour
    assert "hops = 1" in out and "hops = 0" in out and "k = 1" in out
    assert len(one_passage) == 1
    assert "no papers in 'nowhere': add papers with `scholargraph ingest PATH --kb nowhere`" in errors
    assert "searching 'docs' (2 papers)" in out and "searching all knowledge bases" in out
    assert "/hops takes a whole number from 0 to 3" in errors and "/k takes a whole number from 1 to 200" in errors
    assert "unknown command /frobnicate: /help lists them" in errors
    assert "/sources    the last answer's numbered sources" in out and "/quit" in out


def test_sources_before_any_question_and_end_of_input(data_dir):
    result = chat(data_dir, "/sources")  # then stdin ends: Ctrl-D leaves quietly
    assert result.exit_code == 0 and "no answer yet: ask a question first" in result.stderr


def _sse(*pieces: str) -> bytes:
    events = [json.dumps({"choices": [{"delta": {"content": p}}]}) for p in pieces]
    return ("".join(f"data: {e}\n\n" for e in events) + "data: [DONE]\n\n").encode()


def test_chat_with_an_llm_streams_its_answer(data_dir, httpx_mock):
    for _ in range(2):
        httpx_mock.add_response(url="http://llm.test/v1/chat/completions", method="POST",
                                content=_sse("PaperMage is a toolkit ", "for scientific documents [1]."),
                                headers={"content-type": "text/event-stream"})
    result = chat(data_dir, "What is PaperMage?", "PaperMage 是什么？", "/sources",
                  args=("--llm-url", "http://llm.test/v1", "--llm-model", "m"))
    assert result.exit_code == 0, result.output
    assert result.stdout.count("PaperMage is a toolkit for scientific documents [1].") == 2
    assert "quoting" not in result.output and f"[1] {PAPERMAGE}" in result.stdout
    systems = [json.loads(r.content)["messages"][0]["content"] for r in httpx_mock.get_requests()]
    assert systems[0].endswith("Answer in English.") and not systems[1].endswith("Answer in English.")


def test_chat_on_an_empty_library_says_how_to_fill_it(tmp_path):
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "chat"], input="What is PaperMage?\n")
    assert result.exit_code == 1
    assert "the library is empty: add papers with `scholargraph ingest PATH`" in result.stderr
