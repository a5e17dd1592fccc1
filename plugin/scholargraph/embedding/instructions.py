"""Task instructions and the prefix conventions of instruction-tuned embedding models.

Qwen3-Embedding is trained with a one-sentence task instruction in front of each query
(``Instruct: {task}\\nQuery:{query}``, no space after ``Query:``) and bare documents; leaving
the instruction out costs it a few points of retrieval quality. E5 models want ``query: `` and
``passage: `` prefixes instead. Models without a convention get the text unchanged.
"""

from __future__ import annotations

import re

STYLES: tuple[str, ...] = ("qwen3", "e5", "none")
"""Prefix conventions; ``EmbeddingSettings.instruction_style`` may also be 'auto'."""

DEFAULT_INSTRUCTIONS: dict[str, str] = {
    "retrieve": "Given a question about scientific research, retrieve passages from scientific "
    "papers that answer the question",
    "related_papers": "Given a description of a scientific paper, retrieve scientific papers that "
    "are closely related to it, cite it or build on it",
    "classify": "Classify the research field and topic of the given scientific paper text",
    "cluster": "Identify the main research topic of scientific papers based on their titles and "
    "abstracts",
}
"""One sentence per task, in Qwen3's own wording style ("Given a ..., retrieve ... that ...")."""

TASKS: tuple[str, ...] = tuple(DEFAULT_INSTRUCTIONS)

# "e5" as its own word in the name: multilingual-e5-small, intfloat/e5-large-v2, e5_base.
_E5_NAME = re.compile(r"(?:^|[/_\-.:])(?:multilingual-)?e5(?:[/_\-.:]|$)")


def style_for_model(model_name: str) -> str:
    """The prefix convention a model was trained with, guessed from its name ('none' when unsure)."""
    name = model_name.lower()
    if "qwen3" in name and "embedding" in name:
        return "qwen3"
    if _E5_NAME.search(name):
        return "e5"
    return "none"


def resolve_style(style: str, model_name: str) -> str:
    """Turn the 'auto' setting into a concrete style; reject unknown ones with the valid list."""
    if style == "auto":
        return style_for_model(model_name)
    _check_style(style)
    return style


def instruction_for(task: str, overrides: dict[str, str] | None = None) -> str:
    """The instruction of ``task``; a non-empty override (``embedding.instructions``) wins."""
    if task not in DEFAULT_INSTRUCTIONS:
        raise ValueError(f"unknown embedding task {task!r}; valid tasks: {', '.join(TASKS)}")
    override = (overrides or {}).get(task, "")
    return override.strip() or DEFAULT_INSTRUCTIONS[task]


def check_overrides(overrides: dict[str, str] | None) -> None:
    """Refuse overrides for tasks that do not exist, so a typo does not silently do nothing."""
    unknown = sorted(set(overrides or {}) - set(TASKS))
    if unknown:
        raise ValueError(
            f"embedding.instructions names unknown task(s) {', '.join(map(repr, unknown))}; "
            f"valid tasks: {', '.join(TASKS)}"
        )


def format_query(
    query: str,
    task: str = "retrieve",
    style: str = "none",
    overrides: dict[str, str] | None = None,
) -> str:
    """A query as the model expects it; the task is checked even where the style ignores it."""
    _check_style(style)
    instruction = instruction_for(task, overrides)
    if style == "qwen3":
        return f"Instruct: {instruction}\nQuery:{query}"
    if style == "e5":
        return "query: " + query
    return query


def format_document(text: str, style: str = "none") -> str:
    """A passage as the model expects it: bare, except E5's ``passage: `` prefix."""
    _check_style(style)
    if style == "e5":
        return "passage: " + text
    return text


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(
            f"unknown instruction style {style!r}; valid styles: {', '.join(STYLES)} "
            "(or 'auto' in embedding.instruction_style)"
        )
