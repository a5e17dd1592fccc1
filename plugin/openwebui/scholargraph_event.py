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

from pydantic import BaseModel

try:
    from scholargraph import openwebui_bridge as sg
    from scholargraph.openwebui_bridge import knob
except ImportError as exc:
    raise ImportError(
        "ScholarGraph is not installed in Open WebUI's Python environment: "
        "pip install the scholargraph package there (see docs/openwebui.md)"
    ) from exc

log = logging.getLogger("scholargraph.openwebui.event")


class Event:
    class Valves(BaseModel):
        # The library: set these alike in every ScholarGraph function, or leave them empty and set
        # SCHOLARGRAPH_* in Open WebUI's environment (recommended).
        data_dir: str = knob("data_dir", "")
        embedding_backend: str = knob("embedding.backend", "", "'local' or 'vllm'")
        vllm_url: str = knob("embedding.base_url", "")
        embedding_model: str = knob("embedding.model", "")
        embedding_api_key: str = knob("embedding.api_key", "")
        embedding_dimensions: int = knob("embedding.dimensions", 0)
        chroma_host: str = knob("store.chroma_host", "")
        chroma_port: int = knob("store.chroma_port", 0)
        graph_database_url: str = knob("graph.database_url", "")

    def __init__(self):
        self.valves = self.Valves()

    async def event(self, event: dict, __event_name__: Optional[str] = None, **_: Any) -> None:
        # knowledge.file.added / .updated / .removed, knowledge.deleted / .reset, file.deleted,
        # retrieval.content.processed (Knowledge-page uploads link files without knowledge.file.added)
        done = await sg.handle_event(event, __event_name__, self.valves)
        if done:
            log.info("ScholarGraph %s: %s", __event_name__, done)
