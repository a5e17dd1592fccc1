"""The searcher keeps paper metadata between questions (``ScopePapers``); a change to the scope
must show in the very next search, never a stale paper or a missing one."""

from __future__ import annotations

from pathlib import Path

QUESTION = "citation graph expansion for retrieval"


def test_a_paper_leaving_or_joining_the_scope_shows_in_the_next_search(settings, shared_data: Path):
    from scholargraph.library import Library

    docs = shared_data / "docs"
    library = Library(settings)
    try:
        library.ingest([docs / "sample.md", docs / "sample_zh.txt"], scope="a")
        first = library.search(QUESTION, ["a"], k=3, hops=0)
        paper = first.hits[0].paper_id
        title = first.hits[0].title
        assert title  # the metadata came through the cache

        assert library.delete(paper, scope="a")
        after = library.search(QUESTION, ["a"], k=3, hops=0)
        assert paper not in {p.paper_id for p in after.hits}

        library.ingest([docs / "sample.md"], scope="a")
        back = library.search(QUESTION, ["a"], k=3, hops=0)
        assert back.hits[0].paper_id == paper and back.hits[0].title == title
    finally:
        library.close()


def test_the_graph_decides_visibility_on_every_search_with_a_warm_cache(settings, shared_data: Path):
    """Vectors written, graph row not (yet) there, as during an ingest or after a kill: the
    passage stays hidden, and shows in the next search once the graph commits it."""
    from scholargraph.library import Library

    sample = shared_data / "docs" / "sample.md"
    library = Library(settings)
    try:
        library.ingest([sample], scope="a")
        library.ingest([sample], scope="b")
        paper = library.search(QUESTION, ["a"], k=1, hops=0).hits[0].paper_id
        n_chunks = len(library.graph.chunk_ids([paper], ["a"])[paper])

        library.graph.remove_from_scope(paper, "a")  # scope a's vectors stay, the graph says no
        assert paper not in {h.paper_id for h in library.search(QUESTION, ["a"], k=3, hops=0).hits}

        library.graph.add_scope(paper, "a", str(sample), n_chunks)
        assert library.search(QUESTION, ["a"], k=1, hops=0).hits[0].paper_id == paper
    finally:
        library.close()


def test_passages_do_not_share_the_cached_author_lists(settings, shared_data: Path):
    from scholargraph.library import Library

    library = Library(settings)
    try:
        library.ingest([shared_data / "docs" / "sample.md"], scope="a")
        first = library.search(QUESTION, ["a"], k=1, hops=0).hits[0]
        first.authors.append("Someone Else")
        second = library.search(QUESTION, ["a"], k=1, hops=0).hits[0]
        assert "Someone Else" not in second.authors
    finally:
        library.close()


class CountingGraph:
    """The library's graph behind the search's ``PaperReads`` seam, counting paper reads."""

    def __init__(self, graph) -> None:
        self.graph = graph
        self.reads: list[list[str]] = []

    def papers_by_ids(self, paper_ids, scopes=None):
        self.reads.append(list(paper_ids))
        return self.graph.papers_by_ids(paper_ids, scopes)

    def __getattr__(self, name):
        return getattr(self.graph, name)


def test_a_search_reads_each_paper_once_and_its_passages_carry_it(full_library):
    """A fresh searcher (nothing cached) reads the papers of every candidate in one batched read
    and the neighbours' in one more; no paper is read twice, and hits and neighbours carry the
    title, authors and year the faces show."""
    from scholargraph.retrieval.search import Searcher

    graph = CountingGraph(full_library.graph)
    searcher = Searcher(full_library.embedder, full_library.store, graph, lambda: full_library.settings.retrieval)
    result = searcher.search("Which toolkit does PaperMage depend on for access to vision models?", ["lib"],
                             hops=1, hybrid=True)
    assert result.hits and result.neighbours
    assert 1 <= len(graph.reads) <= 2, graph.reads
    read = [pid for ids in graph.reads for pid in ids]
    assert len(read) == len(set(read))
    assert all(p.title and p.authors for p in result.hits + result.neighbours)
    assert all(n.via_title for n in result.neighbours)
