"""Cheap checks before any parser runs, so a bad file fails fast with a reason a user can act on."""

from __future__ import annotations

import zipfile
from pathlib import Path

from scholargraph.errors import ParseError
from scholargraph.settings import ParsingSettings

SUPPORTED_SUFFIXES = {".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt"}
_TEXT_SUFFIXES = {".html", ".htm", ".md", ".markdown", ".txt"}


def check_file(path: Path, settings: ParsingSettings) -> str:
    """The file's lower-case suffix once it exists, is supported, non-empty and not oversized."""
    if not path.exists():
        raise ParseError(path, "no such file")
    if not path.is_file():
        raise ParseError(path, "not a regular file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ParseError(
            path, f"unsupported file type {suffix or '(no extension)'}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    size = path.stat().st_size
    if size == 0:
        raise ParseError(path, "empty file (0 bytes)")
    if size > settings.max_file_mb * 1024 * 1024:
        raise ParseError(path, f"file is {size / 2**20:.0f} MB, over the {settings.max_file_mb} MB limit (parsing.max_file_mb)")
    if suffix == ".docx" and not zipfile.is_zipfile(path):
        raise ParseError(path, "not a Word document (a .docx is a ZIP archive; this file is not)")
    if suffix in _TEXT_SUFFIXES:
        with open(path, "rb") as handle:
            head = handle.read(8192)
        if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise ParseError(path, f"binary content in a {suffix} file; is the extension right?")
    return suffix
