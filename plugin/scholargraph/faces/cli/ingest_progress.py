"""Ingest progress for people: a live bar on a terminal, one line per file anywhere else.

A bar redrawn in place means nothing in a log file or a pipe (rich prints nothing there until
the end), so off a terminal every finished file gets its own line as it happens. On a terminal
the bar names the stage, counts files, pages and chunks, and gives an ETA once a file is done;
the bar and the ETA go by bytes, since one long paper takes as long as many short ones.
Built only on ``IngestEvent`` (one per finished file, plus "parsing" lines from inside a long PDF),
so the local and Ray ingestors both feed it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TaskID,
    TimeRemainingColumn,
)

from scholargraph.models import IngestEvent, IngestReport

FIRST_STAGE = "loading the model, parsing"  # nothing is done until the first file is stored
LATER_STAGE = "parsing, embedding, storing"  # files go through all three, a file or two apart


class IngestProgress:
    """Context manager and ``progress`` callback for ``Library.ingest``.

    ``sizes(paper_id)`` gives (pages, chunks) of a stored paper for the running totals.
    """

    def __init__(self, console: Console, files: list[Path], sizes: Callable[[str], tuple[int, int]]) -> None:
        self.console = console
        self.total = len(files)
        self.bytes = sum(_size(f) for f in files)
        self.sizes = sizes
        self.pages = 0
        self.chunks = 0
        self.live = console.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> IngestProgress:
        if self.live:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[files]}/{task.fields[of]} files"),
                TextColumn("{task.fields[pages]} pages, {task.fields[chunks]} chunks"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
                console=self.console, transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(FIRST_STAGE, total=self.bytes or None, files=0, of=self.total, pages=0,
                                            chunks=0, last="")
        else:
            self.console.print(f"ingesting {self.total} file(s): {LATER_STAGE}; a line per file as it is done",
                               highlight=False, soft_wrap=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)

    def __call__(self, event: IngestEvent) -> None:
        if event.status == "parsing":  # inside a long file: say where it is, count nothing yet
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, last=escape(event.message))
            else:
                self.console.print(f"[{event.done}/{event.total}] parsing: {event.message}",
                                   highlight=False, markup=False, soft_wrap=True)
            return
        if event.status == "added" and event.paper_id:
            pages, chunks = self.sizes(event.paper_id)
            self.pages += pages
            self.chunks += chunks
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=LATER_STAGE, advance=_size(Path(event.path)), files=event.done,
                             of=event.total, pages=self.pages, chunks=self.chunks, last=escape(Path(event.path).name))
            if event.status == "failed":
                self._bar.console.print(f"[red]error:[/red] {escape(event.message)}", highlight=False)
            return
        self.console.print(f"[{event.done}/{event.total}] {event.status}: {event.message}",
                           highlight=False, markup=False, soft_wrap=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def stage_times(report: IngestReport) -> str:
    """'parse 12.0 s, embed 3.1 s, ...': where the time went, per stage (summed over files)."""
    names = ("parse", "embed", "store", "graph")
    return ", ".join(f"{name} {report.seconds[name]:.1f} s" for name in names if name in report.seconds)
