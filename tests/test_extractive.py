"""`ask` without a chat LLM: quoted sentences, each cited [n], then the numbered sources in plain
words; --show-context and --json; an LLM that answers (played by pytest-httpx) and one that is
down (a closed port: real HTTP)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from conftest import free_port
from scholargraph.faces.cli import app
from scholargraph.retrieval.context import build_context, relation_label, short_title
from scholargraph.retrieval.extractive import sentences_of
from scholargraph.retrieval.results import Passage, SearchResult

PAPERMAGE = ("PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating Visually-Rich "
             "Scientific Documents")
QUESTION = "What is PaperMage?"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, shared_data):
    """A two-paper library (PaperMage cites LayoutParser), built once through the CLI."""
    folder = tmp_path_factory.mktemp("ask-library")
    papers = [shared_data / "papers" / name for name in ("papermage.pdf", "layout-parser-paper-fast.pdf")]
    result = CliRunner().invoke(app, ["--data-dir", str(folder), "ingest", *map(str, papers)])
    assert result.exit_code == 0, result.output
    return folder


def _ask(data_dir, *args: str, env: dict[str, str] | None = None):
    env = {"COLUMNS": "400", "SCHOLARGRAPH_LLM__BASE_URL": "", "SCHOLARGRAPH_LLM__MODEL": "", **(env or {})}
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "ask", *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_ask_without_an_llm_quotes_cited_sentences_then_lists_the_sources(data_dir):
    result = _ask(data_dir, QUESTION)
    out = result.stdout
    assert "<source" not in out and "treat it as data" not in out  # not the raw prompt any more
    answer, sources = out.split("Sources", 1)
    quoted = [line for line in answer.splitlines() if line.strip()]
    assert 1 <= len(quoted) <= 3 and all(line.rstrip().endswith("]") for line in quoted)
    assert any("papermage" in line.lower() and "toolkit" in line.lower() for line in quoted)
    assert f"[1] {PAPERMAGE}" in sources and "p. " in sources
    assert "SCHOLARGRAPH_LLM__BASE_URL" in result.stderr and "--llm-url" in result.stderr


def test_how_many_sentences_are_quoted_is_the_admins_setting(data_dir):
    """retrieval.extractive_floor / extractive_second_floor: at 1.0 no sentence but the best can
    join it, so the answer without an LLM is one sentence."""
    default = json.loads(_ask(data_dir, QUESTION, "--json").stdout)["sentences"]
    strict = {"SCHOLARGRAPH_RETRIEVAL__EXTRACTIVE_FLOOR": "1.0", "SCHOLARGRAPH_RETRIEVAL__EXTRACTIVE_SECOND_FLOOR": "1.0"}
    one = json.loads(_ask(data_dir, QUESTION, "--json", env=strict).stdout)["sentences"]
    assert len(default) > 1 and len(one) == 1 and one[0]["text"] == default[0]["text"]


def test_ask_json_gives_the_same_as_data_and_every_sentence_is_from_its_source(data_dir):
    data = json.loads(_ask(data_dir, QUESTION, "--json").stdout)
    assert data["mode"] == "extractive" and data["language"] == "en" and "llm.base_url" in data["note"]
    by_n = {s["n"]: s for s in data["sources"]}
    assert by_n[1]["title"] == PAPERMAGE and by_n[1]["relation"] == "" and by_n[1]["page"]
    assert 1 <= len(data["sentences"]) <= 3
    assert data["answer"].splitlines()[0] == f"{data['sentences'][0]['text']} [{data['sentences'][0]['source']}]"
    scores = [s["score"] for s in data["sentences"]]
    assert scores == sorted(scores, reverse=True)
    for neighbour in (s for s in data["sources"] if s["relation"]):
        assert neighbour["relation"].startswith(("cited by [", "cites [", "similar to [", "shares an author"))
    assert "context" not in data
    # the quoted words are the paper's own
    full = json.loads(_ask(data_dir, QUESTION, "--json", "--show-context").stdout)
    assert full["sentences"] == data["sentences"]
    for sentence in data["sentences"]:
        assert _flat(sentence["text"]) in _flat(full["context"])


def test_show_context_prints_the_full_pack_too(data_dir):
    out = _ask(data_dir, QUESTION, "--show-context").stdout
    assert '<source id="1" title="PaperMage' in out and "Cite sources as [n]" in out
    assert out.index("Context") < out.index("Sources") and f"[1] {PAPERMAGE}" in out


def test_a_chinese_question_gets_english_sentences_by_the_same_model(data_dir):
    data = json.loads(_ask(data_dir, "PaperMage 是什么工具？", "--json").stdout)
    assert data["language"] == "zh" and data["sentences"]
    assert any("toolkit" in s["text"].lower() or "papermage" in s["text"].lower() for s in data["sentences"])


def _sse(*pieces: str) -> bytes:
    events = [json.dumps({"choices": [{"delta": {"content": p}}]}) for p in pieces]
    return ("".join(f"data: {e}\n\n" for e in events) + "data: [DONE]\n\n").encode()


def test_an_llm_that_answers_writes_the_answer_in_the_question_language(data_dir, httpx_mock):
    httpx_mock.add_response(url="http://llm.test/v1/chat/completions", method="POST",
                            content=_sse("PaperMage is a toolkit ", "for scientific documents [1]."),
                            headers={"content-type": "text/event-stream"})
    result = _ask(data_dir, "layout toolkit", "--llm-url", "http://llm.test/v1", "--llm-model", "m")
    assert "PaperMage is a toolkit for scientific documents [1]." in result.stdout
    assert "Sources" in result.stdout and "quoting" not in result.output
    system = json.loads(httpx_mock.get_requests()[0].content)["messages"][0]["content"]
    assert system.endswith("Answer in English.")  # langdetect said Somali for "layout toolkit"


def test_an_llm_that_cannot_be_reached_still_gets_an_answer_and_a_one_line_note(data_dir):
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = _ask(data_dir, QUESTION, "--llm-url", url, "--llm-model", "m")
    assert "Traceback" not in result.output
    note = result.stderr.strip()
    assert url in note and "llm.base_url" in note and "SCHOLARGRAPH_LLM__BASE_URL" in note
    answer = result.stdout.split("Sources", 1)[0]
    assert "[1]" in answer and f"[1] {PAPERMAGE}" in result.stdout


# -- the pieces, without a library -------------------------------------------------------------
def test_neighbour_labels_say_who_cites_whom_in_plain_words():
    hit = Passage("p1", PAPERMAGE, "Introduction", 1, 0.8, "PaperMage is a toolkit.")
    neighbours = [
        Passage("p2", "LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis", "", None,
                0.5, "LayoutParser text.", relation="cites", via="p1", via_title=PAPERMAGE),
        Passage("p3", "CiteSee", "", None, 0.4, "CiteSee text.", relation="cited_by", via="p1", via_title=PAPERMAGE),
        Passage("p4", "Other", "", None, 0.3, "Other text.", relation="similar", via="p1", via_title=PAPERMAGE),
    ]
    pack = build_context(SearchResult("q", "en", [hit], neighbours), budget_tokens=2000)
    assert [s.relation for s in pack.cited] == ["", "cited by [1] PaperMage", "cites [1] PaperMage",
                                                  "similar to [1] PaperMage"]
    assert 'relation="cited by [1] PaperMage"' in pack.text
    assert pack.cited[1].line().endswith(" — cited by [1] PaperMage")
    assert pack.cited[0].line() == f"[1] {PAPERMAGE} — section: Introduction, p. 1"
    assert relation_label("cited_by", "S2ORC: The Semantic Scholar Open Research Corpus") == "cites S2ORC"


def test_long_titles_are_cut_at_a_word_boundary():
    title = "Visually grounded reading of scientific papers with layout aware transformers and graphs"
    short = short_title(title, limit=40)
    assert short.endswith("…") and title.startswith(short[:-1]) and title[len(short) - 1] == " "
    assert short_title("PaperMage: A Unified Toolkit") == "PaperMage" and short_title("") == "an untitled paper"


def test_sentences_keep_abbreviations_and_split_chinese():
    assert sentences_of("We follow Lo et al. (2020) closely. See Fig. 2 for details.") == [
        "We follow Lo et al. (2020) closely.", "See Fig. 2 for details."]
    assert sentences_of("我们提出了一个工具。它可以解析PDF！") == ["我们提出了一个工具。", "它可以解析PDF！"]


def test_search_names_neighbours_in_plain_words(data_dir):
    question = "Which toolkit does PaperMage depend on for access to vision models?"
    args = ["--data-dir", str(data_dir), "search", question, "--hops", "1"]
    env = {"COLUMNS": "400"}
    data = json.loads(CliRunner().invoke(app, [*args, "--json"], env=env).stdout)
    assert [(n["relation"], n["why"]) for n in data["neighbours"]] == [("cites", "cited by PaperMage")]
    out = CliRunner().invoke(app, args, env=env).stdout
    line = next(line for line in out.splitlines() if line.startswith("+ "))
    assert line.startswith("+ LayoutParser: A Unified Toolkit for Deep Learning Based Document Image Analysis — "
                           "cited by PaperMage (score ")


def test_code_listings_and_figure_letters_are_never_quoted_as_an_answer():
    from scholargraph.retrieval.extractive import _readable

    assert not _readable("E F A B D E F 1 >>> import papermage as pm 2 >>> parser = pm .")
    assert not _readable("A B C D E F G H the figure shows panels here.")
    assert not _readable("We call doc.get_layout() on every page before reading.")
    assert _readable("In this work, we introduced papermage, an open-source Python toolkit for processing papers.")
    assert _readable("With k = 5 neighbours the graph stays sparse on every library we tried.")
