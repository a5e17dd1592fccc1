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
