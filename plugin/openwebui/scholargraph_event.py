"""
title: ScholarGraph — knowledge base indexing
author: ScholarGraph
author_url: https://github.com/scholargraph/scholargraph
description: Keeps ScholarGraph's paper library in step with Open WebUI's knowledge bases: indexes files as they are added, forgets them when they are removed or the knowledge base is deleted.
version: 0.1.0
license: Apache-2.0
requirements: scholargraph
"""

import logging
from typing import Any, Optional


try:
    from scholargraph.faces import openwebui as sg
except ImportError as exc:
    raise ImportError(
        "ScholarGraph is not installed in Open WebUI's Python environment: "
        "pip install the scholargraph package there (see docs/openwebui.md)"
    ) from exc

log = logging.getLogger("scholargraph.openwebui.event")


class Event:
    class Valves(sg.LibraryValves):
        """The library's valves, from sg.LibraryValves (one definition for every function)."""

    def __init__(self):
        self.valves = self.Valves()

    async def event(self, event: dict, __event_name__: Optional[str] = None, **_: Any) -> None:
        # knowledge.file.added / .updated / .removed, knowledge.deleted / .reset, file.deleted,
        # retrieval.content.processed (Knowledge-page uploads link files without knowledge.file.added)
        done = await sg.handle_event(event, __event_name__, self.valves)
        if done:
            log.info("ScholarGraph %s: %s", __event_name__, done)
