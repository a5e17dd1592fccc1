"""Settings groups of the way out: the paper graph, how questions find passages and papers (retrieval),
and the chat model that writes answers (llm). Part of the one settings model (``scholargraph.settings``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from scholargraph.setting_keys import SettingsGroup


class GraphSettings(SettingsGroup):
    """The paper graph."""

    database_url: str = Field(
        "", description="SQLAlchemy URL of the graph database; empty = SQLite under the data dir."
    )
    similar_top_k: int = Field(
        5, ge=0, description="'similar' links mutual nearest papers: each among the other's this many nearest.")
    similar_z: float = Field(
        1.0, description="A 'similar' pair's cosine must lie this many standard deviations above the mean cosine "
        "between the library's papers (no fixed cosine: the scale moves with the model and the library).",
    )
    upgrade_on_open: bool = Field(
        True, description="The service and the Open WebUI functions bring a library made by an older version up to "
        "date in the background when they open it (what `scholargraph upgrade` does).",
    )
    title_match_threshold: float = Field(
        0.92, description="Least normalised-title similarity for resolving a citation by title."
    )
    year_tolerance: int = Field(
        2, ge=0, description="A citation resolved by title needs the two years (where both are known) at most this "
        "far apart: a preprint and its journal version often differ by a year or two; more, and an equal title is "
        "more likely another paper.",
    )
    similar_sample: int = Field(
        256, ge=3, description="Paper vectors sampled at random to estimate the library's cosine level for "
        "'similar' links (similar_z); 256 give ~32k pairs.",
    )
    similar_reach: int = Field(
        2, ge=1, description="A new paper may enter the nearest lists of papers beyond its own nearest ones: this "
        "many times similar_top_k of its neighbours are checked for a 'similar' link it pushed out.",
    )
    busy_timeout_s: float = Field(
        30.0, gt=0, description="SQLite: how long a graph write waits for another process's write to finish "
        "before it fails with 'database is locked'.",
    )
    connect_timeout_s: int = Field(
        10, ge=1, description="PostgreSQL: seconds to wait for the graph database server to accept a connection, so "
        "a server that never answers fails an ingest or a chat instead of holding it (a connect_timeout in "
        "database_url wins).",
    )


class RetrievalSettings(SettingsGroup):
    """How questions find passages and papers."""

    top_k: int = Field(8, description="Passages retrieved per question.")
    hybrid: bool = Field(
        True, description="Fuse BM25 keyword ranking and paper names with the vector ranking, leaning per question: "
        "keywords for questions in a language of the library and for named papers, vectors across languages.",
    )
    fusion: Literal["convex", "rrf"] = Field(
        "convex", description="How hybrid search fuses: 'convex' (normalised scores mixed by hybrid_alpha) "
        "or 'rrf' (reciprocal rank fusion).",
    )
    hybrid_alpha: float = Field(
        0.3, ge=0.0, le=1.0, description="Convex fusion: the vectors' share (0-1); the keywords get the "
        "rest, scaled by how many of the question's terms the library contains.",
    )
    keyword_floor: float = Field(
        0.3, ge=0.0, le=1.0, description="Convex fusion: a keyword match counts only in passages at least "
        "this close to the question (cosine, as a share of the best hit's).",
    )
    rrf_k: int = Field(60, description="Reciprocal rank fusion constant.")
    score_threshold: float = Field(0.0, description="Drop passages scoring below this (cosine similarity).")
    hops: int = Field(1, description="Graph hops to expand from the hit papers (0 = no expansion).")
    neighbour_budget: int = Field(
        4, description="Most graph-neighbour papers added to the context: a ceiling, never a quota (neighbour_floor).")
    neighbour_floor: float = Field(
        0.5, ge=0.0, description="A graph neighbour joins only when its best passage's relevance times its relation's "
        "weight reaches this share of the top hit's relevance.",
    )
    quote_ratio: float = Field(
        0.65, ge=0.0, le=1.0, description="When the best passage outscores every other passage near the question "
        "by more than 1/quote_ratio (the question quotes it: a pasted abstract or paragraph), the question is about "
        "that paper as a whole: the papers it cites or that cite it join as its context, best first within "
        "neighbour_budget, without neighbour_floor. 0 = never.",
    )
    hit_floor: float = Field(
        0.7, ge=0.0, le=1.0, description="A paper's passages join the hits only when its best passage's relevance "
        "reaches this share of the top hit's; 0 = always k passages, related or not.",
    )
    passages_per_paper: int = Field(
        4, ge=1, description="Most hits one paper holds while other relevant papers have passages left; "
        "a question about one paper still gets all k from it.",
    )
    edge_weights: dict[str, float] = Field(
        default_factory=lambda: {"cites": 1.0, "cited_by": 0.9, "similar": 0.7, "shares_author": 0.5},
        description="How much each relation counts when ranking neighbours.",
    )
    hop_decay: float = Field(
        0.8, gt=0.0, le=1.0, description="A neighbour's relation weight is multiplied by this once per hop beyond "
        "the first (hops > 1): a paper two citations away counts less than a direct one.",
    )
    shortlist_factor: int = Field(
        2, ge=1, description="Graph neighbours whose passages are scored, per neighbour_budget slot; the rest are "
        "ranked out by their paper vector alone (a well-connected hit has hundreds of neighbours).",
    )
    near_pool: int = Field(
        50, ge=1, description="Passages fetched near the question (and keyword matches scored) when the graph is "
        "expanded, so neighbours found among them need no passage search of their own; 50 costs ~1 ms more "
        "than 10 in a 100k-chunk collection.",
    )
    context_tokens: int = Field(3000, description="Token budget of the context pack given to the LLM.")
    library_questions: Literal["auto", "off", "always"] = Field(
        "auto", description="Questions about the library as a whole ('what are the main themes of my papers?', "
        "'which are most cited by the others?') answered from the graph (themes, in-library citations, abstracts): "
        "'auto' = when the question is close to such a question, 'always', or 'off'.",
    )
    library_threshold: float = Field(
        0.65, ge=0.0, le=1.0, description="'auto' library questions: the least cosine between the question and one "
        "of the prototype library questions (by the library's embedder).",
    )
    theme_resolution: float = Field(
        0.8, gt=0.0, description="Library questions: Leiden resolution of the themes (communities of the cites and "
        "similar edges); below 1 prefers fewer, larger themes, as a library's sparse paper graph needs.",
    )
    theme_label_words: int = Field(4, ge=1, description="Library questions: words naming a theme (c-TF-IDF).")
    extractive_candidates: int = Field(
        96, ge=1, description="Answer without an LLM: candidate sentences embedded per question (~1-2 s on a CPU "
        "core for the local model).",
    )
    extractive_floor: float = Field(
        0.8, ge=0.0, le=1.0, description="Answer without an LLM: a third or later sentence joins only when it "
        "scores at least this share of the best one.",
    )
    extractive_second_floor: float = Field(
        0.6, ge=0.0, le=1.0, description="Answer without an LLM: the share of the best score a second sentence "
        "needs (lower: an answer of one sentence is rarely enough).",
    )
    extractive_source_penalty: float = Field(
        0.04, ge=0.0, description="Answer without an LLM: what a further sentence from an already quoted source "
        "gives up, so other sources get a turn.",
    )
    extractive_duplicate_cosine: float = Field(
        0.92, ge=0.0, le=1.0, description="Answer without an LLM: a sentence at least this similar to a chosen one "
        "says the same thing and is skipped.",
    )
    extractive_word_weight: float = Field(
        0.1, ge=0.0, description="Answer without an LLM: weight of the share of the question's words a sentence "
        "contains, added to its cosine.",
    )


class LLMSettings(SettingsGroup):
    """The chat model that writes answers (any OpenAI-compatible server)."""

    base_url: str = Field("", description="OpenAI-compatible base URL of the chat LLM; empty = answers quoted from the papers (extractive).")
    model: str = Field("", description="Chat model name.")
    api_key: str = Field("", description="Bearer key for the chat LLM.")
    temperature: float = Field(0.2, description="Sampling temperature.")
    timeout_s: float = Field(120.0, description="Seconds before a chat request is abandoned.")
    connect_timeout_s: float = Field(10.0, gt=0, description="Seconds to wait for the chat LLM to accept a connection "
                                     "(a server that is down fails fast and is retried).")
    max_retries: int = Field(
        3, ge=0, description="Retries of a chat request refused with 429/5xx or not connected, before the answer's "
        "first words (never after: the reader already has them).",
    )
    backoff_s: float = Field(0.5, ge=0, description="First retry delay for the chat LLM; doubles each retry.")
    answer_language: str = Field("auto", description="Answer language; 'auto' answers in the question's language.")
    extractive_sentences: int = Field(
        3, ge=1, le=8, description="Sentences quoted from the papers, each cited [n], when no chat LLM is "
        "configured or reachable (the answer without an LLM).",
    )
