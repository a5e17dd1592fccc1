"""Questions about the library as a whole are answered from the graph (themes, in-library
citations, abstracts), and ordinary questions are not routed there.

Runs on the shared papers (``full_library``: the 10 text PDFs and the Chinese one),
read only.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from scholargraph.retrieval.library_overview import PROTOTYPES, library_pack

# Library questions worded unlike the prototypes, in the four languages users ask in.
LIBRARY_QUESTIONS = [
    "What are the main themes of my papers?",
    "Which of my papers are most cited by the others?",
    "How do these papers relate?",
    "What research areas do my papers span?",
    "Which paper is the most influential in this collection?",
    "Can you give me an overview of the papers in my library?",
    "我的论文有哪些主题？",
    "这些论文中哪篇被引用最多？",
    "Welche Themen behandeln meine Paper?",
    "Wie hängen meine Artikel miteinander zusammen?",
    "Quels thèmes couvrent mes articles ?",
    "Quel article de ma bibliothèque est le plus cité ?",
]
# Questions about one paper that sound like graph questions.
MORE_ORDINARY = [
    "Which papers cite S2ORC?",
    "Which papers does PaperMage cite?",
    "What are the limitations of PaperMage?",
    "What datasets are used in these papers?",
]


def ordinary_questions() -> list[str]:
    from importlib.resources import files

    data = json.loads(files("scholargraph.evaluation").joinpath("data/context_questions.json").read_text())
    found = [q["question"] for group in data.values() if isinstance(group, list) for q in group if "question" in q]
    assert len(found) >= 20
    return found + MORE_ORDINARY


def _theme_with(overview, fragment: str):
    for theme in overview.themes:
        if any(fragment.lower() in (overview.papers[p]["title"] or "").lower() for p in theme.papers):
            return theme
    raise AssertionError(f"no theme holds a paper titled like {fragment!r}")


def test_themes_keep_document_toolkits_apart_from_summarization(full_library):
    overview = full_library.overview(["lib"])
    toolkits = {_theme_with(overview, name).n for name in ("PaperMage", "LayoutParser", "S2ORC")}
    summaries = {_theme_with(overview, name).n for name in ("Multi-LexSum", "Beyond Summarization")}
    assert len(toolkits) == 1 and len(summaries) == 1, [(t.label, t.papers) for t in overview.themes]
    assert toolkits.isdisjoint(summaries)
    summary_theme = _theme_with(overview, "Multi-LexSum")
    assert any(w.startswith("summar") for w in summary_theme.words), summary_theme.words
    assert len({p for t in overview.themes for p in t.papers}) == len(full_library.papers(["lib"]))


def test_most_cited_question_names_the_most_cited_paper_first(full_library):
    from scholargraph.chat_session import answer_question

    counts = Counter(e["target"] for e in full_library.graph.edges(["lib"], kinds=["cites"]) if e["source"] != e["target"])
    top_id, top_n = counts.most_common(1)[0]
    assert top_n > counts.most_common(2)[1][1], "the shared papers have one most-cited paper"
    title = full_library.graph.get_paper(top_id)["title"]

    got = answer_question(full_library, "Which of my papers are most cited by the others?", ["lib"], {})
    assert got.pack.overview is not None and got.pack.cited[0].paper_id == top_id
    first = got.text().splitlines()[0]
    assert first.startswith(title.split(":")[0]) and f"cited by {top_n} " in first, first
    assert "<library_overview" in got.pack.text and "[section: abstract]" in got.pack.text


def test_ordinary_questions_are_not_routed_and_library_questions_are(full_library):
    def routed(q: str):
        lib = full_library
        return library_pack(lib.embedder, lib.graph, lib.store, q, ["lib"], settings=lib.settings.retrieval)

    misrouted = [q for q in ordinary_questions() if routed(q) is not None]
    assert misrouted == []
    missed = [q for q in LIBRARY_QUESTIONS if routed(q) is None]
    assert missed == []
    assert not set(LIBRARY_QUESTIONS) & {q for qs in PROTOTYPES.values() for q in qs} - {
        "What are the main themes of my papers?", "Which of my papers are most cited by the others?"}


def test_mode_always_and_off_override_detection(full_library):
    forced = full_library.context("What is PaperMage?", ["lib"], library_questions="always")
    assert forced.overview is not None and len(forced.cited) == len(full_library.papers(["lib"]))
    plain = full_library.context("What are the main themes of my papers?", ["lib"], library_questions="off")
    assert plain.overview is None and "<library_overview" not in plain.text


def test_cli_scope_library(full_library):
    from scholargraph.faces.cli import app

    data_dir = str(full_library.settings.data_dir)
    got = CliRunner().invoke(app, ["--data-dir", data_dir, "search", "anything", "--scope", "library", "--json"])
    assert got.exit_code == 0, got.output
    themes = json.loads(got.output)["themes"]
    assert sum(len(t["papers"]) for t in themes) == len(full_library.papers(["lib"]))
    shown = CliRunner().invoke(app, ["--data-dir", data_dir, "search", "anything", "--scope", "library"],
                               env={"COLUMNS": "400"})
    assert shown.exit_code == 0, shown.output
    assert "Theme 1 (" in shown.output and "Sources" in shown.output and "[1] " in shown.output
    bad = CliRunner().invoke(app, ["--data-dir", data_dir, "ask", "x y z", "--scope", "everything"])
    assert bad.exit_code != 0 and "--scope" in bad.output


def test_valve_sets_the_mode():
    from scholargraph.faces.openwebui.valves import RetrievalValves, settings_from_valves

    assert RetrievalValves().library_questions == "auto"
    assert settings_from_valves(RetrievalValves(library_questions="off")).retrieval.library_questions == "off"
    with pytest.raises(ValueError):
        settings_from_valves(RetrievalValves(library_questions="sometimes"))


def test_service_overview_matches_the_cli(full_library):
    from fastapi.testclient import TestClient

    from scholargraph.faces.service import create_app

    client = TestClient(create_app(full_library.settings, library=full_library))  # no `with`: the library stays open
    got = client.get("/library/overview", params={"kb": "lib"})
    assert got.status_code == 200, got.text
    assert got.json() == full_library.overview(["lib"]).to_json()
    assert got.json()["most_cited"][0]["cited_by"]


def test_open_webui_user_valve_wins_over_the_admin_valve(full_library):
    import importlib.util
    from pathlib import Path

    from scholargraph.faces.openwebui import RetrievalValves, search_options

    question = "What are the main themes of my papers?"
    admin = RetrievalValves()
    repo = Path(__file__).resolve().parents[1]
    for name in ("scholargraph_filter.py", "scholargraph_pipe.py"):
        spec = importlib.util.spec_from_file_location(name[:-3], repo / "plugin" / "openwebui" / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        face = getattr(module, "Filter", None) or module.Pipe
        assert face.UserValves().library_questions == "admin"
        mine = face.UserValves(library_questions="off")
        plain = full_library.context(question, ["lib"], **search_options(admin, mine))
        assert plain.overview is None
        pack = full_library.context(question, ["lib"], **search_options(admin, face.UserValves()))
        assert pack.overview is not None and pack.cited


def test_an_ordinary_question_is_embedded_once_for_detection_and_search(full_library, monkeypatch):
    """With detection on (auto), the question's vector serves both: one embedding call, which
    is one HTTP request per question with the vLLM embedder."""
    embedder = full_library.embedder
    calls: list[list[str]] = []
    real = embedder.embed_queries

    def counting(texts, task="retrieve"):
        calls.append(list(texts))
        return real(texts, task=task)

    monkeypatch.setattr(embedder, "embed_queries", counting)
    question = "Which toolkit does PaperMage depend on for access to vision models?"
    pack = full_library.context(question, ["lib"], library_questions="auto")
    assert pack.overview is None and pack.cited
    assert calls.count([question]) == 1
