"""Request bodies onto disk, chunk by chunk, with the size limit enforced while reading.

Why not ``await request.body()`` or FastAPI's ``UploadFile``: the first holds the whole body in
memory before any limit can be checked (a 1 GB body cost the service 1.9 GB of RSS), the second
spools every part to disk with no limit at all. Here a body past the limit stops being read at
the first byte over, and every file this module wrote is removed when the request fails.
Files that arrived whole are then stored under ``uploads/<content hash>/<name>`` (``store_uploads``),
where the graph view can open them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import unquote

from python_multipart.multipart import MultipartParser, parse_options_header

# Longest name kept, in UTF-8 bytes: most file systems refuse names over 255 bytes.
MAX_NAME_BYTES = 200
# Partial uploads, under the data dir's uploads/ folder; emptied of stale files at start.
INCOMING = ".incoming"


class UploadTooLarge(Exception):
    """A file in the request is over the limit; the service answers 413."""

    def __init__(self, name: str, limit_mb: float) -> None:
        super().__init__(f"{name}: larger than {limit_mb:g} MB (SCHOLARGRAPH_PARSING__MAX_FILE_MB)")


class UploadRefused(Exception):
    """The request body is not a usable upload (bad multipart, too many files); the service answers 400."""


def safe_filename(raw: str | None, default: str = "upload") -> str:
    """A name that is one plain file name: no folders, no ``.``/``..``, no control characters.

    Clients send names as they like (Open WebUI URL-quotes ``X-Filename``; browsers may send
    ``C:\\path\\name.pdf``). The last path component is kept, leading dots and spaces are dropped,
    and an over-long name is cut before its suffix. Nothing usable left gives ``default``.
    """
    name = unquote(raw or "").replace("\\", "/")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = PurePosixPath(name).name if "/" in name else name
    name = name.strip().lstrip(". ").rstrip(" ")
    if not name:
        return default
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        stem, suffix = os.path.splitext(name)
        suffix = suffix if len(suffix.encode("utf-8")) <= 16 else ""
        budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
        name = stem + suffix
    return name


def remove_quietly(path: Path) -> None:
    """Delete a file we wrote; a file already gone is fine."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass


async def spool_body(stream: AsyncIterator[bytes], folder: Path, limit_bytes: int, name: str) -> Path:
    """Write a raw request body to a new file in ``folder``; over ``limit_bytes`` raises UploadTooLarge.

    The file is removed on any failure, a client that hangs up included.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix="body-", delete=False)
    path = Path(handle.name)
    size = 0
    try:
        with handle:
            async for chunk in stream:
                size += len(chunk)
                if size > limit_bytes:
                    raise UploadTooLarge(name, limit_bytes / 2**20)
                handle.write(chunk)
    except BaseException:
        remove_quietly(path)
        raise
    return path


@dataclass
class ReceivedFile:
    """One file part of a multipart upload, already on disk."""

    name: str  # the sanitised file name the client gave
    path: Path  # where its bytes are (inside the spool folder)
    size: int = 0


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    field_name: str = ""
    file: ReceivedFile | None = None
    handle: IO[bytes] | None = None  # open on ``file.path`` while the part's bytes arrive
    data: bytearray = field(default_factory=bytearray)


@dataclass
class _Parse:
    """Where the multipart parser's callbacks are: the current part and its half-read header."""

    part: _Part = field(default_factory=_Part)
    hname: bytes = b""
    hvalue: bytes = b""


async def receive_multipart(
    content_type: str, stream: AsyncIterator[bytes], folder: Path, limit_bytes: int, max_files: int,
    max_field_bytes: int = 64 * 1024,
) -> tuple[dict[str, str], list[ReceivedFile]]:
    """Parse a ``multipart/form-data`` body as it arrives: each file part goes to its own file in
    ``folder``, each counted against ``limit_bytes``; text fields are kept (small) in memory.

    Returns (fields, files). Any failure removes every file written so far.
    """
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadRefused("expected a multipart/form-data body with a boundary")
    folder.mkdir(parents=True, exist_ok=True)
    fields: dict[str, str] = {}
    files: list[ReceivedFile] = []
    state = _Parse()

    def on_part_begin() -> None:
        state.part = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.hname += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.hvalue += data[start:end]

    def on_header_end() -> None:
        state.part.headers[state.hname.lower()] = state.hvalue
        state.hname, state.hvalue = b"", b""

    def on_headers_finished() -> None:
        part = state.part
        _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.field_name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            return
        if len(files) >= max_files:
            raise UploadRefused(f"too many files in one request (at most {max_files}: service.max_upload_files)")
        handle = tempfile.NamedTemporaryFile(dir=folder, prefix="part-", delete=False)
        part.handle = handle
        part.file = ReceivedFile(safe_filename(options[b"filename"].decode("utf-8", "replace")), Path(handle.name))
        files.append(part.file)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = state.part
        if part.file is None or part.handle is None:
            if len(part.data) + end - start > max_field_bytes:
                raise UploadRefused(f"form field {part.field_name!r} is over {max_field_bytes} bytes")
            part.data += data[start:end]
            return
        part.file.size += end - start
        if part.file.size > limit_bytes:
            raise UploadTooLarge(part.file.name, limit_bytes / 2**20)
        part.handle.write(data[start:end])

    def on_part_end() -> None:
        part = state.part
        if part.file is None or part.handle is None:
            fields[part.field_name] = part.data.decode("utf-8", "replace")
        else:
            part.handle.close()

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except BaseException as exc:
        if state.part.handle is not None:
            state.part.handle.close()
        for received in files:
            remove_quietly(received.path)
        if isinstance(exc, (UploadTooLarge, UploadRefused)):
            raise
        if isinstance(exc, Exception) and type(exc).__module__.startswith("python_multipart"):
            raise UploadRefused(f"malformed multipart body ({exc})") from exc
        raise
    return fields, files


def store_uploads(received: list[ReceivedFile], uploads: Path) -> tuple[dict[str, str], list[Path]]:
    """Move received files to ``uploads/<content hash>/<name>``; returns {stored path: name} and
    the paths that did not exist before (what a failure may delete)."""
    from scholargraph.ids import content_hash

    stored: dict[str, str] = {}
    new: list[Path] = []
    for item in received:
        target = uploads / content_hash(item.path)[:16] / item.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            new.append(target)
        item.path.replace(target)
        stored[str(target)] = item.name
    return stored, new


def remove_upload(path: Path, uploads: Path) -> None:
    """Delete a stored upload and its hash folder once empty."""
    remove_quietly(path)
    if path.parent != uploads:
        try:
            path.parent.rmdir()
        except OSError:
            pass  # another file of the same content is still there


def clear_stale(folder: Path, older_than_s: float = 3600) -> None:
    """Partial uploads left by a service that was killed mid-request (another running
    service may be writing the fresh ones, so only old files go)."""
    if not folder.is_dir():
        return
    cutoff = time.time() - older_than_s
    for item in folder.iterdir():
        try:
            if item.stat().st_mtime < cutoff:
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        except OSError:
            pass
