"""Context precision: does every paper in a question's context earn its place?

A researcher judges the assistant by the context it answers from. For each question of a set
written from the papers themselves (``data/context_questions.json``), we build the context pack
exactly as ``ask`` does (hits, then graph neighbours, within the token budget) and score the
papers in it: precision (the share that are relevant), recall of the papers the question
needs (some only reachable over a citation), whether the top hit's paper is a right one, and
the pack's size in tokens.

Papers are named by a key that matches a stored paper by a title substring or its file name,
not by an id: ids are content hashes, and parsers change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scholargraph.chunking import count_tokens
from scholargraph.evaluation.metrics import mean
from scholargraph.retrieval.context import build_context

if TYPE_CHECKING:  # evaluations are clients of the front door
    from scholargraph.library import Library


@dataclass
class ContextQuestion:
    """One question and the papers (by key) that answer it."""

    id: str
    language: str
    question: str
    required: list[str]
    relevant: list[str] = field(default_factory=list)  # besides the required ones
    top1: list[str] = field(default_factory=list)  # empty = any required paper

    @property
    def allowed(self) -> set[str]:
        return set(self.required) | set(self.relevant)

    @property
    def right_first(self) -> set[str]:
        return set(self.top1 or self.required)


@dataclass
class ContextSet:
    papers: dict[str, dict[str, str]]  # key -> {"title": substring, "file": file name}
    questions: list[ContextQuestion]


def load_context_set(path: Path | None = None) -> ContextSet:
    """The shipped question set, or one in the same format."""
    if path is None:
        text = resources.files("scholargraph.evaluation").joinpath("data/context_questions.json").read_text("utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text)
    questions = [
        ContextQuestion(q["id"], q["language"], q["question"], q["required"], q.get("relevant", []), q.get("top1", []))
        for q in data["questions"]
    ]
    for q in questions:
        unknown = (q.allowed | q.right_first) - set(data["papers"])
        if unknown:
            raise ValueError(f"question {q.id} names unknown papers {sorted(unknown)}")
    return ContextSet(data["papers"], questions)


def match_papers(stored: Sequence[Mapping[str, Any]], keys: dict[str, dict[str, str]]) -> dict[str, str]:
    """Paper key -> stored paper id, by title substring (case-insensitive), else by file name."""
    out: dict[str, str] = {}
    for key, spec in keys.items():
        title = spec.get("title", "").casefold()
        by_title = [p["id"] for p in stored if title and title in (p.get("title") or "").casefold()]
        by_file = [p["id"] for p in stored if spec.get("file") and Path(p.get("source") or "").name == spec["file"]]
        found = by_title or by_file
        if found:
            out[key] = found[0]
    return out


def evaluate_context(library: Library, scopes: list[str] | None = None, dataset: ContextSet | None = None,
                     **search_options: Any) -> dict[str, Any]:
    """Per-question and mean precision, recall, top-1 and tokens of the context packs.

    Questions whose papers are not all in the library are listed as skipped, not scored.
    """
    dataset = dataset or load_context_set()
    ids = match_papers(library.papers(scopes), dataset.papers)
    key_of = {pid: key for key, pid in ids.items()}
    budget = library.settings.retrieval.context_tokens
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for q in dataset.questions:
        if not q.allowed <= set(ids):
            skipped.append(q.id)
            continue
        result = library.search(q.question, scopes, **search_options)
        pack = build_context(result, budget)
        in_context = [src.paper_id for src in pack.cited]
        allowed = {ids[k] for k in q.allowed}
        required = {ids[k] for k in q.required}
        top = result.hits[0].paper_id if result.hits else None
        rows.append({
            "id": q.id,
            "language": q.language,
            "precision": round(sum(p in allowed for p in in_context) / len(in_context), 3) if in_context else 0.0,
            "recall": round(len(required & set(in_context)) / len(required), 3),
            "top1": top in {ids[k] for k in q.right_first},
            "tokens": count_tokens(pack.text),
            "papers": len(in_context),
            "context": [key_of.get(p, p) + ("" if not src.relation else f" ({src.relation})")
                        for p, src in zip(in_context, pack.cited)],
        })
    return {
        "questions": len(rows),
        "skipped": skipped,
        "languages": sorted({r["language"] for r in rows}),
        "mean": {
            "precision": round(mean([r["precision"] for r in rows]), 3),
            "recall": round(mean([r["recall"] for r in rows]), 3),
            "top1": round(mean([1.0 if r["top1"] else 0.0 for r in rows]), 3),
            "tokens": round(mean([r["tokens"] for r in rows]), 1),
            "papers": round(mean([r["papers"] for r in rows]), 2),
        },
        "top1_wrong": [r["id"] for r in rows if not r["top1"]],
        "recall_short": [r["id"] for r in rows if r["recall"] < 1.0],
        "per_question": rows,
    }
