"""Shared fixtures: where the read-only test data lives, and throwaway settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SCHOLARGRAPH_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, read-only papers and benchmark sets."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test data not found at {SHARED_DATA}; set SCHOLARGRAPH_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture
def settings(tmp_path: Path):
    """Settings on the embedded default, with a fresh data dir."""
    from scholargraph.settings import Settings

    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session", autouse=True)
def parse_each_shared_file_once():
    """Every in-process parse of a shared file (ingest, the CLI under CliRunner, ``parse_file``)
    is done once per run: dozens of tests ingest the same papers into fresh libraries, and the
    parse is a pure function of the file's content, its path and the parsing settings.

    Only files under the read-only shared data are cached, and only successful parses (a refusal
    is re-raised every time); each caller gets its own deep copy, so no test can change another's
    paper. Worker processes (``parsing.workers`` > 0, test_parsing's pool) still parse for real.
    """
    import copy

    import scholargraph.parsing as parsing
    import scholargraph.parsing.pipeline as pipeline
    from scholargraph.ids import content_hash

    real = pipeline.parse_file_with_stats
    shared = str(SHARED_DATA.resolve()) + os.sep
    cache: dict[tuple[str, str, str], tuple] = {}

    def cached(path, settings=None, digest=None):
        resolved = Path(path).expanduser().absolute()
        if not str(resolved.resolve()).startswith(shared):
            return real(path, settings, digest)
        from scholargraph.settings import ParsingSettings

        digest = digest or content_hash(resolved)
        key = (str(resolved), digest, (settings or ParsingSettings()).model_dump_json())
        if key not in cache:
            cache[key] = real(path, settings, digest)
        return copy.deepcopy(cache[key])

    mp = pytest.MonkeyPatch()
    mp.setattr(pipeline, "parse_file_with_stats", cached)
    mp.setattr(parsing, "parse_file_with_stats", cached)
    yield cache
    mp.undo()


@pytest.fixture(scope="session", autouse=True)
def embed_each_text_once():
    """The packaged embedder computes each distinct text once per run: tests ingest the same
    papers into many fresh libraries, and its vectors depend only on the text (a batch's padding
    moves them by ~1e-7). Still the real model, loaded as before, so retrieval quality is tested
    on real vectors; a test that counts ``embed_documents`` calls still sees every call."""
    import numpy as np

    from scholargraph.embedding.local import LocalEmbedder

    real = LocalEmbedder._embed
    memo: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return real(self, texts)
        self._encoder()  # the model loads when it would have (tests watch for that)
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            memo.update(zip(missing, real(self, missing)))
        return np.stack([memo[t] for t in texts]).astype(np.float32, copy=True)

    mp = pytest.MonkeyPatch()
    mp.setattr(LocalEmbedder, "_embed", embed)
    yield memo
    mp.undo()


@pytest.fixture(scope="session")
def full_library(tmp_path_factory, shared_data):
    """The ten shared papers and the Chinese paper, ingested once on the default stack.

    Read-only for tests: one that needs to change it (another scope, a swapped embedder) undoes
    the change with a fixture. The scanned PDF (8 pages of OCR, ~45 s) is not in it: test_ingest's
    slow test ingests it into a library of its own.
    """
    from scholargraph.library import Library
    from scholargraph.settings import Settings

    library = Library(Settings(data_dir=tmp_path_factory.mktemp("library")))
    report = library.ingest([shared_data / "papers", shared_data / "papers-zh"], scope="lib")
    library.first_report = report
    yield library
    library.close()


def paper_id_by_file(library, name: str) -> str:
    """The id of the paper ingested from a file of that name."""
    for path, pid in library.first_report.paper_ids.items():
        if path.endswith(name):
            return pid
    raise KeyError(name)


IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str, group: str) -> None:
    """Skip locally; under CI a missing server is a failure, never a silent skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the {group} tests must run)")
    pytest.skip(reason)


def free_port() -> int:
    """A free loopback port for a server a test starts."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
