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


@pytest.fixture(scope="session")
def full_library(tmp_path_factory, shared_data):
    """The shared papers, the scanned PDF and the Chinese paper, ingested once on the default stack."""
    from scholargraph.library import Library
    from scholargraph.settings import Settings

    library = Library(Settings(data_dir=tmp_path_factory.mktemp("library")))
    report = library.ingest(
        [shared_data / "papers", shared_data / "scanned", shared_data / "papers-zh"], scope="lib"
    )
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
