"""What an ingest tells its caller: one event per finished file, and the report at the end.

Both ingestors (local and Ray) and every face (CLI, service, Open WebUI) share these, so a
report reads the same wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestEvent:
    """What a progress display needs: which file, what happened, and how far along we are."""

    path: str
    status: str  # "added" | "skipped" | "copied" | "failed"; "parsing": progress inside a file, ``done`` unchanged
    message: str
    done: int
    total: int
    paper_id: str | None = None


def _stage_seconds() -> dict[str, float]:
    return {"parse": 0.0, "embed": 0.0, "store": 0.0, "graph": 0.0}


@dataclass
class IngestReport:
    """Outcome of one ingest run, per file and in totals.

    ``warnings`` holds what went wrong besides a file failing, e.g. vectors of a failed commit
    that could not be removed again: the user hears of them instead of a log line alone.
    """

    added: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    paper_ids: dict[str, str] = field(default_factory=dict)
    pages: int = 0
    chunks: int = 0
    seconds: dict[str, float] = field(default_factory=_stage_seconds)
    wall_seconds: float = 0.0
    ocr_pages: int = 0  # pages read by OCR (no usable text layer)
    ocr_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_json(self, name: Callable[[str], str] = str) -> dict[str, Any]:
        """The report as `scholargraph ingest --json` prints it and POST /ingest answers it;
        ``name`` shows each file (the service: the uploaded file's name, not its stored path)."""
        out: dict[str, Any] = {
            "added": [name(p) for p in self.added],
            "copied": [name(p) for p in self.copied],
            "skipped": [name(p) for p in self.skipped],
            "failed": [{"file": name(p), "error": e} for p, e in self.failed],
            "paper_ids": {name(p): pid for p, pid in self.paper_ids.items()},
            "pages": self.pages,
            "chunks": self.chunks,
            "seconds": round(self.wall_seconds, 3),
            "stage_seconds": {stage: round(s, 3) for stage, s in self.seconds.items()},
        }
        if self.warnings:  # only when there is something to say: the usual report keeps its shape
            out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> str:
        parts = [f"added {len(self.added)}"]
        if self.copied:
            parts.append(f"copied {len(self.copied)} from other knowledge bases without re-embedding")
        parts.append(f"skipped {len(self.skipped)} already ingested")
        parts.append(f"failed {len(self.failed)}")
        summary = ", ".join(parts)
        if self.warnings:
            summary += "; " + "; ".join(self.warnings)
        return summary


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
