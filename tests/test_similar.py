"""'similar' edges mean something in a small library: they link the papers that stand out as
close to each other, not every pair, and follow papers leaving the library."""

from __future__ import annotations

import hashlib
import itertools

from scholargraph.library import Library
from scholargraph.models import Block, Paper, Section

TOPICS = {
    "tables": [
        "Encoding tables for question answering: row and column order should not change the model's answer.",
        "Table-text understanding with structural attention biases that make transformers robust to shuffled rows.",
        "Pretraining language models over relational tables and their surrounding text for table QA.",
    ],
    "law": [
        "Summaries of civil rights lawsuits written by lawyers, at several levels of detail, from court filings.",
        "Legal case documents and their expert-written summaries: a dataset for long multi-document summarization.",
        "How judges and clerks summarise litigation records, and what automatic summaries of court cases miss.",
    ],
}


def _paper(name: str, text: str) -> Paper:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Paper(id=name, content_hash=digest, origin=f"{name}.txt", title=name, language="en",
                 sections=[Section("", [Block(text, 1)])])


def _similar_pairs(library: Library) -> set[frozenset[str]]:
    return {frozenset((e["source"], e["target"])) for e in library.graph_json()["edges"] if e["kind"] == "similar"}


def test_a_small_library_on_two_topics_links_within_topics_only_and_not_every_pair(settings):
    library = Library(settings)
    papers = [_paper(f"{topic}-{i}", text) for topic, texts in TOPICS.items() for i, text in enumerate(texts)]
    for paper in papers:  # one at a time: the incremental path
        assert not library.add_parsed([paper], scope="kb").failed
    pairs = _similar_pairs(library)
    assert pairs, "papers on one topic should be linked"
    assert len(pairs) < len(list(itertools.combinations(papers, 2)))
    for pair in pairs:  # never across topics
        assert len({pid.split("-")[0] for pid in pair}) == 1, pair


def test_deleting_a_paper_recomputes_the_edges_of_the_papers_it_was_similar_to(settings, monkeypatch):
    from scholargraph.graph import similar

    library = Library(settings)
    for topic, texts in TOPICS.items():
        for i, text in enumerate(texts):
            library.add_parsed([_paper(f"{topic}-{i}", text)], scope="kb")
    linked = {pid for pair in _similar_pairs(library) for pid in pair}
    victim = sorted(linked)[0]
    neighbours = {pid for pair in _similar_pairs(library) if victim in pair for pid in pair} - {victim}
    refreshed: list[str] = []
    real = similar.edges_of
    monkeypatch.setattr(similar, "edges_of", lambda vectors, graph, pid, k, level:
                        refreshed.append(pid) or real(vectors, graph, pid, k, level))
    assert library.delete(victim)
    assert set(refreshed) == neighbours  # only the papers it was similar to, not the whole library
    assert all(victim not in pair for pair in _similar_pairs(library))
