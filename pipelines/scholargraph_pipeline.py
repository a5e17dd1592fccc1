"""
title: ScholarGraph filter pipeline
author: ScholarGraph
date: 2025-11-25
version: 0.1.0
license: Apache-2.0
description: The ScholarGraph filter for Open WebUI's Pipelines server: graph-aware paper retrieval for chats with knowledge bases attached, handed to Open WebUI as citable sources.
requirements: scholargraph
"""

from typing import List, Optional

from pydantic import Field

from scholargraph.faces import openwebui as sg
from scholargraph.settings import Settings


class Pipeline:
    class Valves(sg.RetrievalValves):
        # Retrieval knobs and the library come from sg.RetrievalValves (one definition for every function).
        # Which models the filter runs for ("*" = all) and its place among filters
        pipelines: List[str] = Field(default_factory=lambda: ["*"], description="Model ids this filter applies to; '*' for all.")
        priority: int = Field(0, description="Order among filter pipelines (lower runs first).")
        # Access: the Pipelines server cannot ask Open WebUI who may read a knowledge base
        knowledge_ids: str = Field(
            default_factory=lambda: Settings().service.pipeline_knowledge_ids,  # SCHOLARGRAPH_SERVICE__PIPELINE_KNOWLEDGE_IDS
            description="Comma-separated knowledge base ids whose papers every user of these models may read; "
            "'*' = any attached knowledge base (only where every user may read every knowledge base).",
        )
        file_handler: bool = Field(True, description="Take the knowledge bases ScholarGraph answered for away from Open WebUI's own RAG.")

    def __init__(self):
        self.type = "filter"
        self.name = "ScholarGraph"
        self.valves = self.Valves()

    async def on_startup(self):
        pass

    async def on_shutdown(self):
        pass

    async def inlet(self, body: dict, user: Optional[dict] = None) -> dict:
        return await sg.pipeline_inlet(body, valves=self.valves, user=user)
