"""Parse worker processes: started once and kept warm, and never outliving the process that owns them.

A spawned worker pays its imports once (~0.6 s); ``serve`` and the Open WebUI functions ingest
file after file, so the pool stays up between ingests (``shared_pool``) and goes at exit.

A worker whose parent is killed (SIGKILL, OOM) would otherwise keep parsing and then wait on
its task queue forever: the queue's pipe stays open inside the worker itself. Each worker
therefore watches its parent and exits the moment it is gone. (``PR_SET_PDEATHSIG`` is not
used: it fires when the *thread* that started the worker ends, and pools are started from
short-lived request threads in the service.)
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import multiprocessing
import os
import threading

PARENT_POLL_S = 0.5

_lock = threading.Lock()
_shared: tuple[int, cf.ProcessPoolExecutor] | None = None


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit as soon as the parent process is gone."""

    def watch() -> None:
        stop = threading.Event()
        while not stop.wait(PARENT_POLL_S):
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="scholargraph-parent-watch", daemon=True).start()


def new_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A spawn-context pool whose workers die with this process."""
    context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),)
    )


def shared_pool(workers: int) -> cf.ProcessPoolExecutor:
    """The process's warm pool of ``workers`` parse workers (re-made if the size changes or it broke)."""
    global _shared
    with _lock:
        if _shared is not None:
            size, pool = _shared
            broken = getattr(pool, "_broken", False)
            if size == workers and not broken:
                return pool
            pool.shutdown(wait=False, cancel_futures=True)
        _shared = (workers, new_pool(workers))
        return _shared[1]


def discard_shared_pool(wait: bool = False) -> None:
    """Stop the warm pool (at exit, after a worker crashed; ``wait`` for its workers to end)."""
    global _shared
    with _lock:
        if _shared is not None:
            _shared[1].shutdown(wait=wait, cancel_futures=True)
            _shared = None


atexit.register(discard_shared_pool)
