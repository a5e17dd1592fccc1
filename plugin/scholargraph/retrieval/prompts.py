"""The messages sent to the chat LLM for an answer grounded in the context pack."""

from __future__ import annotations

from collections.abc import Sequence

from scholargraph.language import LANGUAGE_NAMES, normalise_code
from scholargraph.retrieval.ports import PaperReads

UNKNOWN = "the language of the question"

SYSTEM = (
    "You are ScholarGraph, a research assistant answering questions about the user's own library "
    "of scientific papers. Use only the numbered sources provided. Cite every claim with its source "
    "number in square brackets, like [1] or [2][3]. Sources marked with a relation (cited by, cites, "
    "similar to) are graph neighbours of the papers that matched: use them to say what builds on or "
    "underlies a paper. If the sources do not answer the question, say so. Answer in {language}."
)


def language_name(code: str) -> str:
    """A language the prompt can name; an undetermined or unknown code never reaches the LLM
    as a guess ('Answer in so' for a two-word English question)."""
    key = normalise_code(code)
    if key in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[key]
    text = (code or "").strip()
    if len(text) > 3 and text.replace(" ", "").isalpha():
        return text  # an admin's own wording, e.g. answer_language="British English"
    return UNKNOWN


def answer_messages(question: str, context: str, language: str, answer_language: str = "auto") -> list[dict[str, str]]:
    """System rules, then the sources and the question as one user turn. ``language`` is the
    question's (already resolved against its fallbacks); ``answer_language`` overrides it."""
    code = language if answer_language in ("", "auto") else answer_language
    return [
        {"role": "system", "content": SYSTEM.format(language=language_name(code))},
        {"role": "user", "content": f"{context}\n\nQuestion: {question}"},
    ]


def resolve_language(graph: PaperReads, question: str, scopes: list[str] | None, *,
                     earlier: Sequence[str] = (), user_language: str = "") -> str:
    """The question's language, or when a short question does not tell: the conversation's
    earlier turns, the user's interface language, the main language of the papers in ``scopes``
    ('und' if none; read from the graph only then)."""
    from scholargraph.language import main_language, question_language

    return question_language(
        question, earlier=earlier, user_language=user_language,
        library_language=lambda: main_language(p.get("language") for p in graph.papers(scopes)),
    )
