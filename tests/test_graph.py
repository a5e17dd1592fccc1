"""The paper graph: citation resolution, scopes, atomic writes and graph expansion.

Runs on a throwaway SQLite file; set SCHOLARGRAPH_TEST_POSTGRES_URL to run the same tests
against PostgreSQL as well (each test gets the tables dropped first).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from scholargraph.errors import StoreError
from scholargraph.graph import PaperGraph, resolve
from scholargraph.graph.keys import (
    main_title,
    normalise_arxiv_id,
    normalise_author,
    normalise_doi,
    normalise_title,
    title_similarity,
)
from scholargraph.graph.schema import metadata
from scholargraph.models import Paper, Reference
from scholargraph.settings import GraphSettings

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("SCHOLARGRAPH_TEST_POSTGRES_URL") else [])


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'graph' / 'graph.sqlite'}"
    pg_url = os.environ["SCHOLARGRAPH_TEST_POSTGRES_URL"]
    from sqlalchemy import create_engine

    engine = create_engine(pg_url)
    metadata.drop_all(engine)
    engine.dispose()
    return pg_url


@pytest.fixture
def graph(url: str):
    g = PaperGraph(url, GraphSettings())
    yield g
    g.close()


def paper(pid: str, title: str, *, authors=(), year=None, doi=None, arxiv_id=None, refs=(), origin=None) -> Paper:
    return Paper(
        id=pid,
        content_hash=pid * 4,
        origin=origin or f"/papers/{pid}.pdf",
        title=title,
        authors=list(authors),
        year=year,
        doi=doi,
        arxiv_id=arxiv_id,
        references=list(refs),
        pages=10,
    )


def ref(raw: str = "", **keys) -> Reference:
    return Reference(raw=raw or str(keys), **keys)


def cites(g: PaperGraph, scopes=None) -> set[tuple[str, str]]:
    return {(e["source"], e["target"]) for e in g.edges(scopes, kinds=["cites"])}


ATTENTION = "Attention Is All You Need"
PRESUM = "Text Summarization with Pretrained Encoders"
DPR = "Dense Passage Retrieval for Open-Domain Question Answering"


# -- keys ---------------------------------------------------------------------------------
def test_normalise_identifiers():
    assert normalise_doi("https://doi.org/10.18653/V1/D19-1387.") == "10.18653/v1/d19-1387"
    assert normalise_doi("doi:10.1016/S0140-6736(97)11096-0") == "10.1016/s0140-6736(97)11096-0"
    assert normalise_doi("10.1000/xyz)") == "10.1000/xyz"  # the closing bracket of the sentence
    assert normalise_doi("not a doi") is None
    assert normalise_arxiv_id("arXiv:1706.03762v5") == "1706.03762"
    assert normalise_arxiv_id("https://arxiv.org/abs/hep-th/9901001v2") == "hep-th/9901001"
    assert normalise_arxiv_id("10.48550/arXiv.2005.11401") == "2005.11401"
    assert normalise_arxiv_id("n/a") is None


def test_normalise_titles_and_authors():
    assert normalise_title("Text Sum-marization with Pre- trained Encoders.") == "text summarization with pretrained encoders"
    assert normalise_title("ＴＨＥ ﬁrst Café — a study") == "the first cafe a study"
    assert main_title("BERT: Pre-training of Deep Bidirectional Transformers") == "bert"
    assert main_title(ATTENTION) is None
    assert normalise_author("Lo, Kyle") == normalise_author("Kyle  Lo") == "kyle lo"
    assert normalise_author("K. Lo") != normalise_author("Kyle Lo")  # initials are not merged
    assert normalise_author("José García") == "jose garcia"
    # short titles only match exactly
    assert title_similarity("neural networks", "neural network") == 0.0
    assert title_similarity("deep learning", "deep learning") == 1.0
    assert title_similarity(normalise_title(DPR), normalise_title(DPR.replace("-", " "))) > 0.92


# -- citation resolution --------------------------------------------------------------------
def test_resolves_by_doi(graph: PaperGraph):
    graph.add_paper(paper("cited", PRESUM, doi="10.18653/v1/D19-1387", year=2019), "kb", 3)
    graph.add_paper(paper("citing", "Something else entirely, a long title", refs=[
        ref(doi="https://doi.org/10.18653/V1/D19-1387", title="Unrelated extraction garbage"),
    ]), "kb", 3)
    assert cites(graph) == {("citing", "cited")}
    (r,) = graph.references_of("citing")
    assert (r["target_paper_id"], r["match_method"]) == ("cited", "doi")


def test_resolves_by_arxiv_id_across_versions(graph: PaperGraph):
    graph.add_paper(paper("vaswani", ATTENTION, arxiv_id="arXiv:1706.03762v5", year=2017), "kb", 3)
    graph.add_paper(paper("citing", "A paper citing the transformer", refs=[ref(arxiv_id="1706.03762v1")]), "kb", 3)
    assert cites(graph) == {("citing", "vaswani")}
    assert graph.references_of("citing")[0]["match_method"] == "arxiv"


@pytest.mark.parametrize(
    "noisy",
    [
        "Text Sum-marization with Pretrained Encoders.",  # line-break hyphenation, trailing period
        "TEXT SUMMARIZATION WITH PRE- TRAINED ENCODERS",  # case, hyphen at a line end
        "Text summarization, with pretrained encoders!",  # punctuation
        "Text Summarisation with Pretrained Encoders",  # one letter off: fuzzy
        "Text Summarization with Pretrained Encoders: a study of BertSum",  # subtitle the parser missed
    ],
)
def test_resolves_by_noisy_title(graph: PaperGraph, noisy: str):
    graph.add_paper(paper("liu", PRESUM, year=2019), "kb", 3)
    graph.add_paper(paper("citing", "A survey of summarization", refs=[ref(title=noisy, year=2019)]), "kb", 3)
    assert cites(graph) == {("citing", "liu")}
    assert graph.references_of("citing")[0]["match_method"] == "title"


@pytest.mark.parametrize("cited_first", [True, False])
def test_ingest_order_does_not_matter(graph: PaperGraph, cited_first: bool):
    cited = paper("dpr", DPR, arxiv_id="2004.04906", year=2020)
    citing = paper("rag", "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks", year=2020, refs=[
        ref(title="Dense passage retrieval for open domain question answering", year=2020),
        ref(title="Some paper not in the library at all, sadly"),
    ])
    for p in ([cited, citing] if cited_first else [citing, cited]):
        graph.add_paper(p, "kb", 3)
    assert cites(graph) == {("rag", "dpr")}
    assert [r["target_paper_id"] for r in graph.references_of("rag")] == ["dpr", None]


@pytest.mark.parametrize(
    "library_title, reference_title",
    [
        ("Deep Learning", "Deep learning: a review"),  # a short common phrase, a different paper
        ("Neural Networks", "Neural Network"),  # short: near is not enough
        ("Introduction", "Introduction to information retrieval"),
        ("Deep Learning", "Deep Learnings"),
        (PRESUM, "Text Summarization with Pretrained Encoders and Decoders for Dialogue"),
    ],
)
def test_short_or_different_titles_do_not_match(graph: PaperGraph, library_title: str, reference_title: str):
    graph.add_paper(paper("lib", library_title), "kb", 3)
    graph.add_paper(paper("citing", "A long enough title for the citing paper", refs=[ref(title=reference_title)]), "kb", 3)
    assert cites(graph) == set()


def test_equal_title_years_apart_is_another_paper(graph: PaperGraph):
    graph.add_paper(paper("old", "A Survey of Methods for Question Answering", year=2005), "kb", 3)
    graph.add_paper(paper("new", "Citing paper", refs=[ref(title="A survey of methods for question answering", year=2022)]), "kb", 3)
    assert cites(graph) == set()


def test_self_citation_is_ignored(graph: PaperGraph):
    graph.add_paper(paper("self", PRESUM, doi="10.1/self", arxiv_id="1908.08345", refs=[
        ref(doi="10.1/self"), ref(arxiv_id="1908.08345v2"), ref(title=PRESUM),
    ]), "kb", 3)
    assert cites(graph) == set()
    assert all(r["target_paper_id"] is None for r in graph.references_of("self"))


def test_deleting_cited_paper_unresolves_and_readding_resolves(graph: PaperGraph):
    cited = paper("cited", ATTENTION, doi="10.5555/3295222.3295349")
    graph.add_paper(cited, "kb", 3)
    graph.add_paper(paper("citing", "Citing paper title here", refs=[ref(doi="10.5555/3295222.3295349")]), "kb", 3)
    assert cites(graph) == {("citing", "cited")}

    assert graph.delete_paper("cited") is True
    assert graph.delete_paper("cited") is False
    assert cites(graph) == set()
    (r,) = graph.references_of("citing")
    assert r["target_paper_id"] is None and r["match_method"] is None
    assert graph.stats()["resolved_references"] == 0

    graph.add_paper(cited, "kb", 3)
    assert cites(graph) == {("citing", "cited")}


def test_stronger_key_takes_over_and_delete_falls_back(graph: PaperGraph):
    """Preprint (title only) and journal version (DOI): the DOI wins in either order."""
    citing = paper("citing", "A citing paper title", refs=[ref(title=DPR, doi="10.18653/v1/2020.emnlp-main.550", year=2020)])
    graph.add_paper(paper("preprint", DPR, year=2020), "kb", 3)
    graph.add_paper(citing, "kb", 3)
    assert cites(graph) == {("citing", "preprint")}

    graph.add_paper(paper("journal", DPR, doi="10.18653/v1/2020.emnlp-main.550", year=2020), "kb", 3)
    assert cites(graph) == {("citing", "journal")}
    assert graph.references_of("citing")[0]["match_method"] == "doi"

    graph.delete_paper("journal")  # the reference falls back to the next best match
    assert cites(graph) == {("citing", "preprint")}


# -- authors, similarity ------------------------------------------------------------------------
def test_shares_author_edges(graph: PaperGraph):
    graph.add_paper(paper("p1", "First paper title here", authors=["Kyle Lo", "Lucy Lu Wang", "Iz Beltagy"]), "kb", 1)
    graph.add_paper(paper("p2", "Second paper title here", authors=["Lo, Kyle", "Iz Beltagy"]), "kb", 1)
    graph.add_paper(paper("p0", "Third paper title here", authors=["K. Lo", "Lucy Lu Wang"]), "kb", 1)
    shared = {(e["source"], e["target"]): e["weight"] for e in graph.edges(kinds=["shares_author"])}
    assert shared == {("p1", "p2"): 2.0, ("p0", "p1"): 1.0}  # "K. Lo" is not merged with "Kyle Lo"
    assert graph.stats()["authors"] == 4

    graph.delete_paper("p2")
    assert {(e["source"], e["target"]) for e in graph.edges(kinds=["shares_author"])} == {("p0", "p1")}


def test_similar_edges(graph: PaperGraph):
    for pid in ("a", "b", "c"):
        graph.add_paper(paper(pid, f"Paper {pid} with a long title"), "kb", 1)
    graph.add_paper(paper("d", "Paper d with a long title"), "kb", 1, similar=[("a", 0.9), ("zz-missing", 0.8), ("d", 1.0)])
    assert [(e["source"], e["target"], e["weight"]) for e in graph.edges(kinds=["similar"])] == [("a", "d", 0.9)]
    graph.set_similar("d", [("b", 0.7), ("c", 0.6)])
    assert {(e["source"], e["target"]) for e in graph.edges(kinds=["similar"])} == {("b", "d"), ("c", "d")}
    with pytest.raises(StoreError, match="no paper nope"):
        graph.set_similar("nope", [])


# -- scopes -------------------------------------------------------------------------------------
def test_scope_visibility(graph: PaperGraph):
    graph.add_paper(paper("cited", ATTENTION, arxiv_id="1706.03762"), "A", 3)
    graph.add_paper(paper("citing", "A paper in scope B", refs=[ref(arxiv_id="1706.03762")]), "B", 4)
    graph.add_paper(paper("both", "A paper in both scopes", refs=[ref(arxiv_id="1706.03762")]), "A", 2)
    graph.add_paper(paper("both", "A paper in both scopes"), "B", 5)  # already stored: only joins B

    assert graph.scopes_of("both") == {"A", "B"}
    assert graph.in_scope("cited", "A") and not graph.in_scope("cited", "B")
    assert [p["id"] for p in graph.papers(["B"])] == ["citing", "both"]
    assert graph.get_paper("cited", ["B"]) is None
    assert graph.get_paper("cited", ["A"])["title"] == ATTENTION
    both = {p["id"]: p for p in graph.papers(["B"])}["both"]
    assert both["scopes"] == ["B"] and both["chunks"] == 5  # other scopes are not disclosed

    assert cites(graph) == {("citing", "cited"), ("both", "cited")}
    assert cites(graph, ["B"]) == set()  # 'cited' is invisible from B
    assert cites(graph, ["A"]) == {("both", "cited")}
    assert graph.references_of("citing", ["B"])[0]["target_paper_id"] is None
    assert graph.references_of("citing", ["A"]) == []
    assert graph.stats(["B"])["resolved_references"] == 0
    assert graph.stats(["A", "B"])["edges"]["cites"] == 2
    assert graph.papers([]) == [] and graph.edges([]) == []

    assert graph.remove_from_scope("both", "B") is False  # still in A
    assert graph.has_paper("both") and graph.scopes_of("both") == {"A"}
    assert graph.remove_from_scope("both", "B") is False  # not there any more
    assert graph.remove_from_scope("both", "A") is True  # last scope: gone
    assert not graph.has_paper("both")
    assert cites(graph) == {("citing", "cited")}


def test_delete_scope(graph: PaperGraph):
    graph.add_paper(paper("only_a", "Only in scope A here"), "A", 1)
    graph.add_paper(paper("shared", "In scopes A and B here"), "A", 1)
    graph.add_scope("shared", "B", "/elsewhere/shared.pdf", 1)
    assert graph.delete_scope("A") == ["only_a"]
    assert [p["id"] for p in graph.papers()] == ["shared"]
    assert graph.papers()[0]["source"] == "/elsewhere/shared.pdf"
    with pytest.raises(StoreError, match="no paper ghost"):
        graph.add_scope("ghost", "B", "x.pdf", 1)


def test_add_existing_paper_refreshes_chunks(graph: PaperGraph):
    p = paper("p", "A paper added twice to one scope")
    graph.add_paper(p, "kb", 3)
    graph.add_paper(p, "kb", 7)
    assert graph.papers()[0]["chunks"] == 7
    assert graph.stats()["papers"] == 1


# -- atomicity, errors, database set-up ------------------------------------------------------------
@pytest.mark.parametrize("stage", ["find_citing_references", "resolve_references"])
def test_add_paper_is_atomic(graph: PaperGraph, monkeypatch, stage: str):
    graph.add_paper(paper("cited", ATTENTION, arxiv_id="1706.03762"), "kb", 1)
    before = graph.stats()

    def boom(*args, **kwargs):
        raise RuntimeError("resolution exploded")

    monkeypatch.setattr(resolve, stage, boom)
    new = paper("new", "A new paper title here", authors=["New Author"], refs=[ref(arxiv_id="1706.03762")])
    with pytest.raises(RuntimeError, match="exploded"):
        graph.add_paper(new, "kb", 5)
    assert not graph.has_paper("new")
    assert graph.scopes_of("new") == set()
    assert graph.stats() == before  # no author, reference or edge left behind

    monkeypatch.undo()
    graph.add_paper(new, "kb", 5)
    assert cites(graph) == {("new", "cited")}


def test_database_errors_name_the_database_without_password(tmp_path: Path):
    with pytest.raises(StoreError) as caught:
        PaperGraph("postgresql+psycopg://scholar:s3cret@127.0.0.1:1/graph", GraphSettings())
    assert "s3cret" not in str(caught.value) and "127.0.0.1:1/graph" in str(caught.value)

    g = PaperGraph(f"sqlite:///{tmp_path / 'g.sqlite'}", GraphSettings())
    with g.db.engine.begin() as conn:
        conn.execute(text("DROP TABLE edges"))
    with pytest.raises(StoreError, match=r"g\.sqlite.*listing edges failed"):
        g.edges()
    g.close()


def test_sqlite_is_wal_with_foreign_keys(tmp_path: Path):
    g = PaperGraph(f"sqlite:///{tmp_path / 'deep' / 'er' / 'g.sqlite'}")
    with g.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    g.close()


def test_concurrent_writers_queue_instead_of_failing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'g.sqlite'}"
    graphs = [PaperGraph(url), PaperGraph(url)]
    errors: list[BaseException] = []

    def writer(g: PaperGraph, prefix: str) -> None:
        try:
            for i in range(15):
                g.add_paper(paper(f"{prefix}{i:02d}", f"Paper {prefix} number {i} on retrieval", authors=["Shared Author"]), "kb", 1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(g, p)) for g, p in zip(graphs, "xy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert graphs[0].stats()["papers"] == 30
    assert graphs[0].stats()["edges"]["shares_author"] == 30 * 29 // 2
    for g in graphs:
        g.close()


# -- expansion and export -------------------------------------------------------------------------
@pytest.fixture
def chain(graph: PaperGraph) -> PaperGraph:
    """a cites b, b cites c, c cites d; a ~ e similar; e shares an author with f; x is in scope 'other'."""
    graph.add_paper(paper("d", "Paper D is the oldest one"), "kb", 1)
    graph.add_paper(paper("c", "Paper C cites paper D", refs=[ref(title="Paper D is the oldest one")]), "kb", 1)
    graph.add_paper(paper("b", "Paper B cites paper C", refs=[ref(title="Paper C cites paper D")]), "kb", 1)
    graph.add_paper(paper("e", "Paper E is similar to A", authors=["Ada Lovelace"]), "kb", 1)
    graph.add_paper(paper("f", "Paper F shares an author", authors=["Ada Lovelace"]), "kb", 1)
    graph.add_paper(paper("x", "Paper X cites A but is elsewhere", refs=[ref(title="Paper A cites paper B")]), "other", 1)
    graph.add_paper(paper("a", "Paper A cites paper B", refs=[ref(title="Paper B cites paper C")]), "kb", 1, similar=[("e", 0.83)])
    return graph


def test_neighbours_one_hop(chain: PaperGraph):
    found = chain.neighbours(["b"], ["kb"], hops=1)
    assert [(n["paper_id"], n["relation"], n["via"], n["hop"]) for n in found] == [
        ("c", "cites", "b", 1),  # b cites c
        ("a", "cited_by", "b", 1),  # a cites b
    ]
    everywhere = chain.neighbours(["a"], None, hops=1)
    assert {n["paper_id"]: n["relation"] for n in everywhere} == {"b": "cites", "x": "cited_by", "e": "similar"}
    assert {n["paper_id"] for n in chain.neighbours(["a"], ["kb"], hops=1)} == {"b", "e"}  # x is invisible
    assert [n["paper_id"] for n in chain.neighbours(["b"], ["kb"], kinds=["cites"])] == ["c"]


def test_neighbours_two_hops(chain: PaperGraph):
    found = {n["paper_id"]: n for n in chain.neighbours(["a"], ["kb"], hops=2)}
    assert set(found) == {"b", "e", "c", "f"}
    assert (found["b"]["hop"], found["b"]["relation"], found["b"]["via"]) == (1, "cites", "a")
    assert (found["e"]["hop"], found["e"]["relation"], found["e"]["weight"]) == (1, "similar", 0.83)
    assert (found["c"]["hop"], found["c"]["relation"], found["c"]["via"]) == (2, "cites", "b")
    assert (found["f"]["hop"], found["f"]["relation"], found["f"]["via"]) == (2, "shares_author", "e")
    assert "a" not in found  # start papers are never neighbours


def test_neighbour_with_several_relations(chain: PaperGraph):
    chain.set_similar("b", [("a", 0.91)])
    (b,) = [n for n in chain.neighbours(["a"], ["kb"]) if n["paper_id"] == "b"]
    assert b["relation"] == "cites"
    assert b["relations"] == [
        {"relation": "cites", "via": "a", "weight": 1.0},
        {"relation": "similar", "via": "a", "weight": 0.91},
    ]
    from_two = {n["paper_id"]: n for n in chain.neighbours(["a", "c"], ["kb"])}
    assert {(r["relation"], r["via"]) for r in from_two["b"]["relations"]} == {("cites", "a"), ("similar", "a"), ("cited_by", "c")}
    with pytest.raises(ValueError, match="unknown relation"):
        chain.neighbours(["a"], None, kinds=["likes"])


def test_export_and_networkx(chain: PaperGraph):
    data = chain.export(["kb"])
    assert {n["id"] for n in data["nodes"]} == {"a", "b", "c", "d", "e", "f"}
    node = {n["id"]: n for n in data["nodes"]}["a"]
    assert {"id", "title", "authors", "year", "doi", "arxiv_id", "language", "source"} <= set(node)
    assert {(e["source"], e["target"], e["kind"]) for e in data["edges"]} == {
        ("a", "b", "cites"), ("b", "c", "cites"), ("c", "d", "cites"),
        ("a", "e", "similar"), ("e", "f", "shares_author"),
    }
    nx_graph = chain.to_networkx(["kb"])
    assert nx_graph.has_edge("a", "b", key="cites") and not nx_graph.has_edge("b", "a", key="cites")
    assert nx_graph.has_edge("e", "a", key="similar")
    stats = chain.stats()
    assert stats["papers"] == 7 and stats["resolved_references"] == 4
    assert stats["edges"] == {"cites": 4, "similar": 1, "shares_author": 1}


def test_export_around_papers_walks_every_link_both_ways_within_scopes(chain: PaperGraph):
    def around(centre, hops, scopes=("kb",)):
        data = chain.export(list(scopes), around=centre, hops=hops)
        return {n["id"] for n in data["nodes"]}, {(e["source"], e["target"]) for e in data["edges"]}

    assert around(["b"], 1) == ({"a", "b", "c"}, {("a", "b"), ("b", "c")})  # cited and citing
    assert around(["e"], 1) == ({"a", "e", "f"}, {("a", "e"), ("e", "f")})  # similar, shared author
    assert around(["b"], 2) == ({"a", "b", "c", "d", "e"}, {("a", "b"), ("b", "c"), ("c", "d"), ("a", "e")})
    assert around(["b"], 0) == ({"b"}, set())
    assert around(["x"], 1) == (set(), set())  # outside the scopes: neither shown nor walked from
    assert around(["x"], 1, scopes=("kb", "other")) == ({"a", "x"}, {("x", "a")})


def test_papers_by_ids_and_chunk_ids_respect_scopes(graph: PaperGraph):
    graph.add_paper(paper("p", "A paper in two scopes here"), "A", 3)
    graph.add_scope("p", "B", "/b/p.pdf", 3)
    graph.add_paper(paper("q", "A paper only in scope B"), "B", 2)
    assert set(graph.papers_by_ids(["p", "q", "missing"], ["A"])) == {"p"}
    assert graph.papers_by_ids(["p", "q"], None)["q"]["source"] == "/papers/q.pdf"
    assert graph.chunk_ids(["p", "q"], ["B"]) == {
        "p": ["B:p:00000", "B:p:00001", "B:p:00002"],
        "q": ["B:q:00000", "B:q:00001"],
    }
    assert graph.chunk_ids(["p"], None) == {"p": ["A:p:00000", "A:p:00001", "A:p:00002"]}  # first scope
    assert graph.chunk_ids(["p"], []) == {}
