"""The messages sent to the chat LLM for an answer grounded in the context pack."""

from __future__ import annotations

LANGUAGE_NAMES = {"en": "English", "zh": "Chinese (简体中文)", "de": "German", "fr": "French", "es": "Spanish",
                  "ja": "Japanese", "ko": "Korean"}

SYSTEM = (
    "You are ScholarGraph, a research assistant answering questions about the user's own library "
    "of scientific papers. Use only the numbered sources provided. Cite every claim with its source "
    "number in square brackets, like [1] or [2][3]. Sources marked with a relation (cited by, cites, "
    "similar to) are graph neighbours of the papers that matched: use them to say what builds on or "
    "underlies a paper. If the sources do not answer the question, say so. Answer in {language}."
)


def answer_messages(question: str, context: str, language: str, answer_language: str = "auto") -> list[dict[str, str]]:
    """System rules, then the sources and the question as one user turn."""
    code = language if answer_language == "auto" else answer_language
    lang = LANGUAGE_NAMES.get(code, code if code not in ("und", "") else "the language of the question")
    return [
        {"role": "system", "content": SYSTEM.format(language=lang)},
        {"role": "user", "content": f"{context}\n\nQuestion: {question}"},
    ]
