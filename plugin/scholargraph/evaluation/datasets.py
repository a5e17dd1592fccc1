"""Loaders for the evaluation sets in shared/data (BEIR SciFact subset, XQuAD-R)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@dataclass
class RetrievalSet:
    """Documents, queries and judgements: docs {id: text}, queries {id: text}, qrels {qid: {doc: rel}}."""

    name: str
    docs: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, float]]


def load_scifact(folder: Path, queries_file: str = "queries_mini.jsonl", qrels_file: str = "qrels_mini.tsv") -> RetrievalSet:
    docs = {}
    with open(folder / "corpus_subset_2101.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            docs[str(row["doc_id"])] = row["text"]
    queries = {}
    with open(folder / queries_file, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            queries[str(row["_id"])] = row["text"]
    qrels: dict[str, dict[str, float]] = {}
    with open(folder / qrels_file, encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if str(row["corpus-id"]) in docs:
                qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = float(row["score"])
    queries = {q: t for q, t in queries.items() if q in qrels}
    return RetrievalSet("scifact-mini", docs, queries, qrels)


def load_xquad(folder: Path, question_lang: str, paragraph_lang: str, limit: int | None = None) -> RetrievalSet:
    """Questions in one language against all paragraphs of the other; the same question id links them."""

    def paragraphs(lang: str) -> Iterator[tuple[str, dict[str, Any]]]:
        data = json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
        for a, article in enumerate(data["data"]):
            for p, para in enumerate(article["paragraphs"]):
                yield f"{a}-{p}", para

    docs: dict[str, str] = {}
    owner: dict[str, str] = {}
    for pid, para in paragraphs(paragraph_lang):
        docs[pid] = para["context"]
        for qa in para["qas"]:
            owner[qa["id"]] = pid
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, float]] = {}
    for _, para in paragraphs(question_lang):
        for qa in para["qas"]:
            if qa["id"] in owner:
                queries[qa["id"]] = qa["question"]
                qrels[qa["id"]] = {owner[qa["id"]]: 1.0}
    if limit:
        keep = list(queries)[:: max(1, len(queries) // limit)][:limit]
        queries = {q: queries[q] for q in keep}
        qrels = {q: qrels[q] for q in keep}
    return RetrievalSet(f"xquad-r {question_lang}->{paragraph_lang}", docs, queries, qrels)
