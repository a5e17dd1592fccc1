"""Progress of an ingest as it happens: one ``IngestEvent`` per finished file.

``IngestEvent`` and ``IngestReport`` are public models (``scholargraph.models``): every face
(CLI, service, Open WebUI) shows them; both ingestors (local and Ray) count files here.
"""

from __future__ import annotations

from collections.abc import Callable

from scholargraph.models import IngestEvent, IngestReport

__all__ = ["FileProgress", "IngestEvent", "IngestReport"]


class FileProgress:
    """Counts the files an ingest has finished and tells ``progress`` of each (local and Ray alike)."""

    def __init__(self, progress: Callable[[IngestEvent], None] | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def __call__(self, path: str, status: str, message: str, paper_id: str | None = None) -> None:
        self.done += 1
        if self.progress:
            self.progress(IngestEvent(path, status, message, self.done, self.total, paper_id))

    def inside(self, path: str, line: str) -> None:
        """Progress within a long file (a "parsing" line): no file is done yet."""
        if self.progress:
            self.progress(IngestEvent(path, "parsing", line, self.done, self.total))
