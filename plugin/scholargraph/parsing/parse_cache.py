"""Parses waiting between Open WebUI's document loader and the library's ingest.

With ScholarGraph as Open WebUI's External document loader, every upload is parsed by the
service's ``PUT /process`` (Open WebUI shows the sections, and the upload's error names the
file); moments later the Event function, in Open WebUI's process, ingests the same bytes. Both
sides name one folder (``parsing.cache_dir``), and ``/process`` leaves its parse there under the
file's content hash, so the ingest takes it instead of parsing again: OCR of a scan runs once.

An entry is one JSON file ``<sha256>.json`` (the serialised ``Paper`` and where its parse spent
its time), written atomically (temp file + rename). The ingest reads it and removes it only once
the paper is committed (``forget``): an ingest that fails after the parse (the embedder or the
store down) leaves it for the retry, which then does not parse (or OCR) again. Entries nobody
ingests are swept after ``parsing.cache_ttl_s``: when an entry is written, when a library starts
its housekeeping (``Library.start_sweep``) and by ``scholargraph doctor``. Entries from another
ScholarGraph version, stale or unreadable ones are removed when read, never used: the parser may
have changed.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from scholargraph import __version__
from scholargraph.models import Paper
from scholargraph.settings import ParsingSettings

log = logging.getLogger(__name__)

_PAPER = TypeAdapter(Paper)
_SUFFIX = ".json"


class ParseCache:
    """One folder of waiting parses, keyed by the file's content hash (``ids.content_hash``)."""

    def __init__(self, folder: Path, ttl_s: float) -> None:
        self.folder = folder
        self.ttl_s = ttl_s

    def _entry(self, digest: str) -> Path:
        if not digest or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a content hash: {digest!r}")
        return self.folder / f"{digest}{_SUFFIX}"

    def put(self, paper: Paper, ocr_pages: list[int] | None = None, ocr_seconds: float = 0.0) -> Path:
        """Leave ``paper`` for the ingest of the same bytes; sweeps stale entries on the way."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "version": __version__,
            "paper": asdict(paper),
            "ocr_pages": list(ocr_pages or []),
            "ocr_seconds": ocr_seconds,
        }
        data = json.dumps(record, ensure_ascii=False).encode("utf-8")
        target = self._entry(paper.content_hash)
        handle, tmp = tempfile.mkstemp(prefix=f".{paper.content_hash[:16]}-", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.sweep()
        return target

    def holds(self, digest: str) -> bool:
        """Whether a fresh parse of these bytes is waiting (a cheap look, nothing decoded)."""
        try:
            return time.time() - self._entry(digest).stat().st_mtime <= self.ttl_s
        except OSError:
            return False

    def read(self, digest: str) -> tuple[Paper, list[int], float] | None:
        """The waiting parse of these bytes, left in place until ``forget`` (the ingest calls it
        once the paper is committed); None when there is none. A stale, unreadable or
        other-version entry is removed, never returned."""
        entry = self._entry(digest)
        try:
            raw = entry.read_bytes()
            age = time.time() - entry.stat().st_mtime
        except OSError:
            return None
        found = None if age > self.ttl_s else self._decode(entry, raw, digest)
        if found is None:
            entry.unlink(missing_ok=True)
        return found

    def _decode(self, entry: Path, raw: bytes, digest: str) -> tuple[Paper, list[int], float] | None:
        try:
            record = json.loads(raw)
            if record.get("version") != __version__:
                return None
            paper = _PAPER.validate_python(record["paper"])
        except (ValueError, ValidationError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable parse cache entry %s (%s)", entry.name, exc)
            return None
        if paper.content_hash != digest:
            return None
        return paper, [int(p) for p in record.get("ocr_pages") or []], float(record.get("ocr_seconds") or 0.0)

    def forget(self, digest: str) -> bool:
        """Remove the entry of these bytes (their paper is committed); True when there was one."""
        try:
            self._entry(digest).unlink()
        except FileNotFoundError:
            return False
        return True

    def stale(self) -> list[Path]:
        """Entries (and abandoned temp files) older than the TTL: parses nobody ingested."""
        cutoff = time.time() - self.ttl_s
        found: list[Path] = []
        try:
            items = list(self.folder.iterdir())
        except OSError:
            return found
        for item in items:
            if not (item.name.endswith(_SUFFIX) or item.name.endswith(".tmp")):
                continue
            try:
                if item.stat().st_mtime < cutoff:
                    found.append(item)
            except OSError:
                pass  # another process took or swept it
        return found

    def sweep(self) -> int:
        """Remove entries (and abandoned temp files) older than the TTL; returns how many went."""
        gone = 0
        for item in self.stale():
            try:
                item.unlink()
                gone += 1
            except OSError:
                pass  # another process took or swept it
        return gone

    def __len__(self) -> int:
        try:
            return sum(1 for item in self.folder.iterdir() if item.name.endswith(_SUFFIX))
        except OSError:
            return 0


def cache_for(settings: ParsingSettings) -> ParseCache | None:
    """The folder of waiting parses these settings name (None for bare ParsingSettings)."""
    folder = settings.cache_folder
    return ParseCache(folder, settings.cache_ttl_s) if folder is not None else None


def forget_parse(settings: ParsingSettings, digest: str) -> None:
    """The paper of these bytes is committed: its waiting parse (if any) has done its job."""
    cache = cache_for(settings)
    if cache is None:
        return
    try:
        cache.forget(digest)
    except ValueError:  # not a file's content hash (a paper from a data set): never cached
        pass
    except OSError as exc:  # the TTL sweep removes it later
        log.warning("cannot remove the parse cache entry of %s from %s (%s)", digest[:12], cache.folder, exc)


def sweep_parses(settings: ParsingSettings) -> int:
    """Remove parses nobody ingested within ``parsing.cache_ttl_s``; returns how many went."""
    cache = cache_for(settings)
    return cache.sweep() if cache is not None else 0
