"""Bulk ingest with parsing fanned out over a Ray cluster.

Parsing is the stage a cluster can spread (a text-layer page costs ~6 ms of CPU, a scanned
page ~8 s of OCR): each file becomes one Ray task that runs the engine's own ``parse_file``.
The driver keeps the rest:
it skips what the library already holds (papers are keyed by content hash), embeds parsed
papers in batches through the configured embedder (vLLM in production) and commits each one
through ``Ingestor.add_parsed`` -- the same all-or-nothing commit as a local ingest. Nothing
is doubled when two imports overlap: chunk ids and paper rows are derived from the content
hash, so a paper committed twice is written over itself, and a paper already in the scope is
skipped before it is parsed and again when its batch is embedded.

Files travel with the task (the driver reads them and Ray ships the bytes through its object
store), so workers need no view of the driver's disk; the driver must see the files and the
library, the workers only need scholargraph installed.
"""

from __future__ import annotations

import logging
import os
import resource
import socket
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scholargraph.errors import ConfigError, ParseError, ScholarGraphError
from scholargraph.ids import content_hash, paper_id_for
from scholargraph.ingest import FileProgress, IngestEvent, IngestReport, Ingestor, discover
from scholargraph.models import Paper
from scholargraph.ingest.ingest_parts import IngestParts
from scholargraph.parsing.parse_cache import forget_parse
from scholargraph.settings import ParsingSettings

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'scholargraph[ray]'"


def require_ray() -> Any:
    """The ray module, or a ConfigError that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"parsing.executor is 'ray' but Ray is not installed ({exc}); run {INSTALL_HINT} "
            "or set parsing.executor=local"
        ) from exc
    return ray


def connect(settings: ParsingSettings) -> Any:
    """Join the configured cluster once per process (or start a local Ray); returns ray."""
    ray = require_ray()
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry, like every other library here
        address = settings.ray_address or os.environ.get("RAY_ADDRESS") or None
        if address:
            _check_reachable(address, settings.ray_connect_timeout_s)
        try:
            # no dashboard for a Ray started here (a port and a process nobody asked for);
            # a cluster's own dashboard is its operator's choice
            extra = {} if address else {"include_dashboard": False}
            ray.init(address=address, log_to_driver=False, **extra)
        except Exception as exc:  # ConnectionError, a version mismatch, ...
            hint = ("check parsing.ray_address, that the cluster runs the same Ray and Python versions, and for a "
                    "cluster with token authentication RAY_AUTH_MODE=token and its RAY_AUTH_TOKEN") if address else \
                "check that this machine can start Ray (free memory, /tmp writable)"
            raise ConfigError(
                f"cannot {'join Ray at ' + address if address else 'start a local Ray'} "
                f"({type(exc).__name__}: {exc}); {hint}"
            ) from exc
    return ray


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail in seconds (``parsing.ray_connect_timeout_s``) on an address where nothing listens;
    Ray itself retries for minutes."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():  # 'auto', 'local', a bare host: Ray's own rules apply
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(
            f"cannot join Ray at {address}: nothing answers there ({exc.strerror or exc}); check parsing.ray_address "
            "(ray://HEAD:10001 for Ray Client, HEAD:6379 on a cluster node)"
        ) from exc


@dataclass
class Parsed:
    """One task's outcome: a paper or an error, and what it cost on the worker."""

    paper: Paper | None
    error: str | None
    wall_s: float
    cpu_s: float
    ocr_pages: int = 0
    ocr_seconds: float = 0.0


def parse_bytes(name: str, data: bytes, settings: dict[str, Any]) -> Parsed:
    """Parse a file's bytes under its own name (the name is a title fallback); never raises.

    Runs on a Ray worker: the bytes land in a private temporary folder, so workers need no
    shared filesystem. Settings travel as plain data (``worker_settings``) and are validated here,
    so a worker whose scholargraph knows one field more or less than the driver's still parses
    (a rolling upgrade of the cluster): a field it lacks takes its default, one it does not
    know is dropped with a warning (``settings_for_worker``).
    """
    from scholargraph.parsing.pipeline import ParseStats, parse_file_with_stats

    wall, cpu = time.perf_counter(), _cpu_seconds()
    paper: Paper | None = None
    error: str | None = None
    stats = ParseStats()
    with tempfile.TemporaryDirectory(prefix="scholargraph-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            paper, stats = parse_file_with_stats(path, settings_for_worker(settings))
        except ParseError as exc:
            error = str(exc)
        except Exception as exc:  # a parser bug must still name the file
            reason = " ".join(str(exc).split()) or type(exc).__name__
            error = f"{name}: cannot parse ({type(exc).__name__}: {reason})"
    return Parsed(paper, error, time.perf_counter() - wall, _cpu_seconds() - cpu,
                  len(stats.ocr_pages), stats.ocr_seconds)


def worker_settings(settings: ParsingSettings) -> dict[str, Any]:
    """The parsing settings as a Ray task carries them: plain data, one OCR process per task (a
    task holds one CPU: N tesseracts per task would put N x N processes on an N-core node), and
    the parse cache folder named, since the default ``<data_dir>/parsed`` is derived by the
    driver's ``Settings`` and a plain dump drops it. A worker that sees the folder (local Ray, a
    shared filesystem) takes the document loader's parse instead of parsing again."""
    plain = {**settings.model_dump(mode="json"), "ocr_workers": 1}
    folder = settings.cache_folder
    if folder is not None:
        plain["cache_dir"] = str(folder)
    return plain


def settings_for_worker(plain: dict[str, Any]) -> ParsingSettings:
    """``ParsingSettings`` from what a driver sent, keeping only the fields this worker knows:
    settings refuse unknown fields, and a driver newer than its workers must not stop them."""
    known = ParsingSettings.model_fields
    unknown = sorted(set(plain) - set(known))
    if unknown:
        log.warning("ignoring parsing setting(s) this worker's scholargraph does not know: %s "
                    "(the driver runs a newer version)", ", ".join(unknown))
    return ParsingSettings.model_validate({k: v for k, v in plain.items() if k in known})


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it waited for (tesseract runs as one)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def parse_on_ray(ray: Any, paths: list[Path], settings: ParsingSettings) -> Iterator[tuple[Path, Parsed]]:
    """Yield (path, outcome) in the order of ``paths``, with a bounded window of files in flight.

    In order, because a paper's 'similar' edges go to the papers committed before it (its
    ``graph.similar_top_k`` best): committing in file order, as a local ingest does, makes the
    Ray library the same as a local one and a rerun the same as the first run. A slow file
    holds back only the commits behind it; the window keeps every worker busy meanwhile.
    """
    task = ray.remote(num_cpus=1, max_retries=1)(parse_bytes)
    plain = worker_settings(settings)
    # parsing.ray_in_flight_per_cpu: enough files that no worker waits while the driver embeds a
    # batch or a slow file holds the head of the line, few enough for Ray's object store
    cpus = int(ray.cluster_resources().get("CPU", 1)) or 1
    limit = max(4, settings.ray_in_flight_per_cpu * cpus)
    queue = iter(paths)
    window: deque[tuple[Any, Path]] = deque()

    def fill() -> None:
        for path in queue:
            window.append((task.remote(path.name, path.read_bytes(), plain), path))
            if len(window) >= limit:
                return

    fill()
    while window:
        ref, path = window.popleft()
        try:
            outcome = ray.get(ref)
        except Exception as exc:  # a worker killed for memory, a lost node
            outcome = Parsed(None, f"{path.name}: Ray parse task failed ({type(exc).__name__}: {exc})", 0.0, 0.0)
        fill()  # before the caller embeds: the workers parse while the driver commits
        yield path, outcome


class RayIngestor:
    """Ingest like ``Ingestor.run``, with parsing on Ray and embedding batched across papers."""

    def __init__(self, parts: IngestParts) -> None:
        self.parts = parts
        self.ingestor = Ingestor(parts)  # commits, as a local ingest does
        self.settings = parts.settings
        self.parse_cpu_seconds = 0.0  # summed over workers, for pages-per-core figures

    def run(
        self,
        paths: Iterable[str | Path],
        scope: str = "default",
        progress: Callable[[IngestEvent], None] | None = None,
        origins: dict[str, str] | None = None,
    ) -> IngestReport:
        """Ingest files and folders into a scope; ``origins`` may name what a path came from (an
        Open WebUI file, ...), recorded in its stead."""
        started = time.perf_counter()
        ray = connect(self.settings.parsing)
        graph = self.parts.graph
        report = IngestReport()
        files, refused = discover(paths)
        emit = FileProgress(progress, len(files) + len(refused))

        def fail(path: Path, message: str, paper_id: str | None = None) -> None:
            report.failed.append((str(path), message))
            emit(str(path), "failed", message, paper_id)

        for refused_path, reason in refused:
            report.failed.append((refused_path, reason))
            emit(refused_path, "failed", reason)

        origin_of = {str(p): (origins or {}).get(str(p), str(p)) for p in files}
        to_parse: list[Path] = []
        first_of: dict[str, str] = {}  # paper id -> the first file with that content in this run
        later_copies: list[tuple[str, str]] = []
        for path in files:
            try:
                digest = content_hash(path)
                pid = paper_id_for(digest)
            except OSError as exc:
                fail(path, f"{path.name}: cannot read ({exc.strerror or exc})")
                continue
            report.paper_ids[str(path)] = pid
            if graph.in_scope(pid, scope):
                graph.add_origin(pid, scope, origin_of[str(path)])
                forget_parse(self.settings.parsing, digest)  # the loader parsed a paper already here
                report.skipped.append(str(path))
                emit(str(path), "skipped", f"{path.name}: already ingested", pid)
            elif pid in first_of:
                later_copies.append((pid, origin_of[str(path)]))
                report.skipped.append(str(path))
                emit(str(path), "skipped", f"{path.name}: same content as another file in this ingest", pid)
            else:
                first_of[pid] = str(path)
                to_parse.append(path)

        batch: list[tuple[Path, Paper, str]] = []  # (file, paper, what to add to its progress line)
        for path, outcome in parse_on_ray(ray, to_parse, self.settings.parsing):
            report.seconds["parse"] += outcome.wall_s
            self.parse_cpu_seconds += outcome.cpu_s
            if outcome.paper is None:
                fail(path, outcome.error or f"{path.name}: no result")
                continue
            outcome.paper.origin = origin_of[str(path)]
            ocr = (f" (OCR of {outcome.ocr_pages} pages, {outcome.ocr_seconds / outcome.ocr_pages:.1f} s a page)"
                   if outcome.ocr_pages else "")
            batch.append((path, outcome.paper, ocr))
            if len(batch) >= self.settings.parsing.ray_commit_batch:
                self._commit(batch, scope, report, emit, fail)
                batch = []
        if batch:
            self._commit(batch, scope, report, emit, fail)
        for pid, origin in later_copies:
            if graph.in_scope(pid, scope):  # not when its first copy failed
                graph.add_origin(pid, scope, origin)
        report.wall_seconds = time.perf_counter() - started
        return report

    def _commit(self, batch: list[tuple[Path, Paper, str]], scope: str, report: IngestReport, emit: FileProgress,
                fail: Callable[[Path, str, str | None], None]) -> None:
        """Embed a batch together, commit each paper through the library's own path, report each."""
        try:
            part = self.ingestor.add_parsed([paper for _, paper, _ in batch], scope)
        except ScholarGraphError as exc:  # the embedder failed for the whole batch
            for path, paper, _ in batch:
                fail(path, f"{path.name}: {exc}", paper.id)
            return
        for stage, seconds in part.seconds.items():
            report.seconds[stage] = report.seconds.get(stage, 0.0) + seconds
        report.chunks += part.chunks
        report.warnings.extend(part.warnings)
        added = set(part.added)
        errors = dict(part.failed)
        for path, paper, ocr in batch:
            if paper.origin in errors:
                fail(path, f"{path.name}: {errors[paper.origin]}", paper.id)
            elif paper.origin in added:
                report.added.append(str(path))
                report.pages += paper.pages
                emit(str(path), "added", f"{path.name}: {paper.title}{ocr}", paper.id)
            else:  # another import committed it while this one parsed
                self.parts.graph.add_origin(paper.id, scope, paper.origin)
                report.skipped.append(str(path))
                emit(str(path), "skipped", f"{path.name}: already ingested (by another import)", paper.id)
