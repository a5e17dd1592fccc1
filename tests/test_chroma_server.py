"""A Chroma server that is down or silent gives a clear error in bounded time, never a hang.

These need no Chroma: a closed port stands for a server that is down, and a socket that accepts
connections but never answers for a hung one. The restart a chat rides out is in test_servers.py
(marker ``server``), against a real ``chroma run``.
"""

from __future__ import annotations

import socket
import time

import pytest

from conftest import free_port

from scholargraph.errors import StoreError
from scholargraph.settings import Settings


def _open_store(tmp_path, port: int, **store):
    from scholargraph.chroma_store import VectorStore

    settings = Settings(data_dir=tmp_path / "data",
                        store={"chroma_host": "127.0.0.1", "chroma_port": port, **store})
    return VectorStore(settings.store, settings.data_dir, "some-model", 8)


def test_server_down_fails_after_retries_naming_the_server(tmp_path):
    port = free_port()  # nothing listens here
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        _open_store(tmp_path, port, max_retries=2, backoff_s=0.2)
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "did not answer after 3 tries" in message
    assert "is it running?" in message
    assert 0.5 <= elapsed < 15  # it waited 0.2 + 0.4 s between tries, then gave up
    assert not (tmp_path / "data" / "chroma").exists()  # no silent fallback to an embedded store


def test_server_that_never_answers_times_out(tmp_path):
    with socket.socket() as silent:  # accepts connections (the backlog) and never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(StoreError) as caught:
            _open_store(tmp_path, port, timeout_s=0.5, max_retries=1, backoff_s=0.1)
        elapsed = time.monotonic() - started
    assert "did not answer after 2 tries" in str(caught.value)
    assert "ReadTimeout" in str(caught.value)
    assert elapsed < 10


@pytest.mark.parametrize("field, value", [("timeout_s", 0), ("max_retries", -1), ("backoff_s", -0.5)])
def test_nonsense_retry_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        Settings(store={field: value})
