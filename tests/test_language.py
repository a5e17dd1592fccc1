"""Question language on one-to-three-word questions: right, or the caller's fallback, never a guess."""

from __future__ import annotations

import pytest

from scholargraph.language import (
    detect_language,
    detect_with_confidence,
    first_known,
    main_language,
    question_language,
    script_family,
)
from scholargraph.retrieval.prompts import answer_messages

ENGLISH = ["layout toolkit", "table encoding", "citation context", "What is PaperMage?", "reading order",
           "dense retrieval", "PDF parsing", "table structure recognition", "scientific document parsing",
           "citation graph", "layout analysis", "plain language summaries", "legal summarization",
           "author disambiguation", "figure captions", "related work", "paper recommendation", "citation intent",
           "math formulas", "reading assistance"]
NAMES = ["PaperMage", "S2ORC", "GROBID", "BM25", "LayoutParser"]  # no language in them: the fallback decides
CHINESE = ["版面分析", "引用上下文", "表格结构识别", "科学论文解析", "引文图", "PDF解析", "什么是PaperMage？", "阅读顺序",
           "密集检索", "表格编码", "论文摘要", "作者消歧"]
GERMAN = ["Tabellenstruktur erkennen", "Zitationskontext", "Layoutanalyse wissenschaftlicher Artikel", "Leserichtung",
          "dichte Suche", "Tabellen kodieren", "Zitationsgraph", "wissenschaftliche Dokumente", "Was ist PaperMage?",
          "Zusammenfassung juristischer Texte", "Autorenerkennung", "PDF-Dateien zerlegen", "Formeln erkennen",
          "Lesehilfe für Artikel"]
FRENCH = ["analyse de mise en page", "contexte de citation", "extraction de tableaux", "ordre de lecture",
          "recherche dense", "graphe de citations", "structure des tableaux", "qu'est-ce que PaperMage ?",
          "résumés juridiques", "analyse des PDF", "articles scientifiques", "encodage des tableaux",
          "légendes des figures", "aide à la lecture"]
CASES = ([(q, "en") for q in ENGLISH + NAMES] + [(q, "zh") for q in CHINESE] + [(q, "de") for q in GERMAN]
         + [(q, "fr") for q in FRENCH])


def test_the_set_is_large_enough():
    assert len(CASES) >= 40 and all(len(q.split()) <= 5 for q, _ in CASES)  # one to three content words


@pytest.mark.parametrize("question,expected", CASES)
def test_short_questions_in_an_english_library(question, expected):
    """In a library whose main language is English: right, or (when unsure) English."""
    assert detect_language(question, fallback="en") == expected


@pytest.mark.parametrize("question,expected", [(q, "fr") for q in FRENCH] + [(q, "de") for q in GERMAN])
def test_german_and_french_questions_hold_against_an_english_fallback_and_a_french_one(question, expected):
    assert detect_language(question, fallback="fr") == expected
    assert question_language(question, library_language="en") == expected


def test_a_bare_name_is_undetermined_without_a_fallback():
    for name in NAMES:
        assert detect_language(name) == "und"
    assert detect_with_confidence("   ") == ("und", 0.0)


def test_fallback_order_earlier_turns_then_user_then_library():
    asked = []

    def library() -> str:
        asked.append(1)
        return "de"

    earlier = ["Quels outils analysent la mise en page des articles scientifiques ?"]
    assert question_language("PaperMage", earlier=earlier, user_language="en-US", library_language=library) == "fr"
    assert question_language("PaperMage", user_language="zh-CN", library_language=library) == "zh"
    assert not asked  # the library is only asked when nothing else decided
    assert question_language("PaperMage", library_language=library) == "de" and asked
    assert question_language("S2ORC") == "und"
    assert question_language("layout toolkit", user_language="fr-FR") == "en"  # its own language wins


def test_only_supported_languages_come_out():
    assert detect_language("mise en page", languages=("en", "de")) in ("en", "de", "und")
    assert detect_language("layout toolkit", languages=("en", "zh", "de", "fr")) == "en"


def test_papers_use_the_same_detector():
    abstract = ("We present a toolkit for processing visually rich scientific documents, combining layout "
                "models with text models to recover the structure of papers.")
    assert detect_language(abstract) == "en"
    assert detect_language("Wir stellen ein Werkzeug vor, das die Struktur wissenschaftlicher Artikel erkennt "
                           "und Tabellen, Abbildungen und Formeln aus PDF-Dateien herauslöst.") == "de"


def test_helpers():
    assert main_language(["en", "en", "zh", None, "und"]) == "en" and main_language([]) == "und"
    assert first_known("und", "", "en-GB", "de") == "en"
    assert script_family("ja") == "cjk" and script_family("fr") == "alphabetic" and script_family("und") == "und"


@pytest.mark.parametrize("question", ["layout toolkit", "table encoding", "citation context", "PaperMage"])
def test_the_answer_prompt_never_names_a_wrong_language(question):
    language = detect_language(question)
    system = answer_messages(question, "ctx", language)[0]["content"]
    told = system.split("Answer in ")[-1]
    assert told in ("English.", "the language of the question.")


def test_answer_language_names():
    from scholargraph.retrieval.prompts import language_name

    assert language_name("en-US") == "English" and language_name("de") == "German"
    assert language_name("British English") == "British English"
    assert language_name("so") == language_name("und") == language_name("") == "the language of the question"
    assert "Answer in French." in answer_messages("q", "c", "en", answer_language="fr")[0]["content"]
