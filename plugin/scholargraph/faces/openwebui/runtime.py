"""One library per distinct settings in the Open WebUI process, and off-loop execution."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from scholargraph.settings import Settings

if TYPE_CHECKING:
    from scholargraph.library import Library


log = logging.getLogger("scholargraph.openwebui")


Emitter = Callable[[dict[str, Any]], Awaitable[Any]] | None


_LIBRARIES: OrderedDict[str, Library] = OrderedDict()


_LIBRARIES_LOCK = threading.Lock()


WRITE_LOCK = threading.Lock()  # ingest and delete one at a time per process (embedded stores)


def get_library(settings: Settings) -> Library:
    """A cached ``Library`` for these settings (the four functions share it when they agree)."""
    from scholargraph.library import Library

    key = settings.model_dump_json()
    with _LIBRARIES_LOCK:
        lib = _LIBRARIES.get(key)
        if lib is None:
            lib = _LIBRARIES[key] = Library(settings)
            lib.start_upgrade()
            while len(_LIBRARIES) > 4:
                _, old = _LIBRARIES.popitem(last=False)
                old.close()
        _LIBRARIES.move_to_end(key)
        return lib


P = ParamSpec("P")
T = TypeVar("T")


async def run_blocking(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Engine calls are blocking (parsing, embedding, SQL): keep them off Open WebUI's event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def iterate_blocking(gen: Iterator[str]) -> AsyncIterator[str]:
    """An async view of a blocking generator (the chat LLM stream), one piece per thread hop."""
    sentinel: object = object()
    while True:
        piece: object = await asyncio.to_thread(next, gen, sentinel)
        if piece is sentinel:
            return
        yield str(piece)


def status(description: str, done: bool = False, hidden: bool = False) -> dict[str, Any]:
    return {"type": "status", "data": {"description": description, "done": done, "hidden": hidden}}


def notification(content: str, kind: str = "info") -> dict[str, Any]:
    return {"type": "notification", "data": {"type": kind, "content": content}}


async def emit(emitter: Emitter, event: dict[str, Any]) -> None:
    if emitter is not None:
        try:
            await emitter(event)
        except Exception:  # a closed socket must not fail the chat
            log.debug("event emitter failed", exc_info=True)
