"""Open WebUI's External document loader: an upload in, one Open WebUI document per section out.

Open WebUI 0.12's ``ExternalDocumentLoader`` (``open_webui/retrieval/loaders/external_document.py``)
sends ``PUT {URL}/process`` with the file's bytes, ``Content-Type`` and ``X-Filename`` (the stored
file's base name, ``{uuid}_{name}``, URL-quoted) and reads back ``{page_content, metadata}`` or a
list of them. The service's route receives the bytes; this module turns them into documents.

The parse is kept in ``parsing.cache_dir`` (``Library.parse_for_loader``): the Event function
that files the upload into a knowledge base moments later takes it instead of parsing again. A
refusal raises ``ParseError`` naming the user's own file name (without Open WebUI's ``{uuid}_``),
which the service answers as 422 and Open WebUI shows on the upload.
"""

from __future__ import annotations

import mimetypes
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scholargraph.errors import ParseError, ScholarGraphError
from scholargraph.settings import Settings

if TYPE_CHECKING:
    from scholargraph.models import Paper

# What Open WebUI may send as Content-Type when X-Filename carries no usable suffix.
SUFFIX_BY_TYPE = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/html": ".html",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/plain": ".txt",
}

# Open WebUI stores an upload as "{uuid4}_{the user's file name}".
_STORED_PREFIX = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_", re.IGNORECASE)


def user_filename(filename: str) -> str:
    """The name the user gave the file: Open WebUI's ``{uuid}_`` storage prefix removed."""
    return _STORED_PREFIX.sub("", filename, count=1) or filename


def upload_suffix(filename: str, content_type: str | None) -> str:
    """The file's suffix when the library reads it, else the one its Content-Type names."""
    from scholargraph.library import Library

    suffix = Path(filename).suffix.lower()
    if suffix in Library.readable_suffixes():
        return suffix
    kind = (content_type or "").split(";")[0].strip().lower()
    return SUFFIX_BY_TYPE.get(kind, suffix or mimetypes.guess_extension(kind) or "")


def _stem(name: str) -> str:
    """A stem fit for a temp file name, so a paper with no printed title is named after its file."""
    return re.sub(r"[^\w.-]+", "_", Path(name).stem).strip(".")[:120] or "document"


def process_upload(path: Path, filename: str, content_type: str | None, settings: Settings) -> list[dict[str, Any]]:
    """Parse an upload received at ``path`` (moved away, then deleted) and return its documents.

    Raises ParseError naming the user's file for anything that is not a readable paper."""
    from scholargraph.library import Library

    name = user_filename(filename)
    suffix = upload_suffix(filename, content_type)
    with tempfile.TemporaryDirectory(prefix="process-", dir=path.parent) as tmp:
        named = Path(tmp) / f"{_stem(name)}{suffix}"
        path.replace(named)
        try:
            paper = Library.parse_for_loader(named, settings)
        except ParseError as exc:
            raise ParseError(name, exc.reason) from exc
        except ScholarGraphError as exc:
            raise ParseError(name, str(exc)) from exc
        except Exception as exc:  # a parser bug still answers one line naming the file
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ParseError(name, f"cannot parse ({type(exc).__name__}: {reason})") from exc
    docs = paper_documents(paper, filename)
    if not docs:
        raise ParseError(name, "no text found (an image-only PDF needs OCR: "
                               "SCHOLARGRAPH_PARSING__PDF_STRATEGY=auto or ocr_only)")
    return docs


def paper_documents(paper: Paper, filename: str) -> list[dict[str, Any]]:
    """A parsed paper as Open WebUI documents: one per section, page numbers in the metadata.

    ``page`` is 0-based like Open WebUI's own PDF loader (its citation view shows page + 1
    and links ``#page=page+1``); ``page_label`` / ``page_end`` are the printed 1-based pages.
    Metadata values are never None: Open WebUI hands them to its vector store as they are.
    """
    base = {
        "source": filename,
        "name": filename,
        "title": paper.title,
        "authors": ", ".join(paper.authors),
        "year": paper.year,
        "doi": paper.doi,
        "arxiv_id": paper.arxiv_id,
        "language": paper.language,
        "paper_id": paper.id,
        "content_hash": paper.content_hash,
        "total_pages": paper.pages,
        "loader": "scholargraph",
    }
    base = {k: v for k, v in base.items() if v not in (None, "")}
    docs: list[dict[str, Any]] = []
    for index, section in enumerate(paper.sections):
        text = section.text.strip()
        if not text:
            continue
        meta = dict(base, section=section.title or "", section_index=index)
        if section.page_start is not None:
            meta["page"] = section.page_start - 1
            meta["page_label"] = str(section.page_start)
            meta["page_end"] = section.page_end
        content = f"{section.title}\n\n{text}" if section.title else text
        docs.append({"page_content": content, "metadata": meta})
    return docs
