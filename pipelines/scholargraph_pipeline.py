"""
title: ScholarGraph filter pipeline
author: ScholarGraph
date: 2025-11-25
version: 0.1.0
license: Apache-2.0
description: The ScholarGraph filter for Open WebUI's Pipelines server: graph-aware paper retrieval for chats with knowledge bases attached, handed to Open WebUI as citable sources.
requirements: scholargraph
"""

import os
from typing import List, Optional

from pydantic import BaseModel, Field

from scholargraph import openwebui_bridge as sg
from scholargraph.openwebui_bridge import knob


class Pipeline:
    class Valves(BaseModel):
        # Which models the filter runs for ("*" = all) and its place among filters
        pipelines: List[str] = Field(default_factory=lambda: ["*"], description="Model ids this filter applies to; '*' for all.")
        priority: int = Field(0, description="Order among filter pipelines (lower runs first).")
        # Access: the Pipelines server cannot ask Open WebUI who may read a knowledge base
        knowledge_ids: str = Field(
            os.getenv("SCHOLARGRAPH_PIPELINE_KNOWLEDGE_IDS", ""),
            description="Comma-separated knowledge base ids whose papers every user of these models may read; "
            "'*' = any attached knowledge base (only where every user may read every knowledge base).",
        )
        file_handler: bool = Field(True, description="Take the knowledge bases ScholarGraph answered for away from Open WebUI's own RAG.")
        # Retrieval
        top_k: int = knob("retrieval.top_k")
        hops: int = knob("retrieval.hops")
        neighbour_budget: int = knob("retrieval.neighbour_budget")
        hybrid: bool = knob("retrieval.hybrid")
        context_tokens: int = knob("retrieval.context_tokens")
        # The library (shared with Open WebUI's side: a Chroma server and PostgreSQL, or one data dir)
        data_dir: str = knob("data_dir", "")
        embedding_backend: str = knob("embedding.backend", "", "'local' or 'vllm'")
        vllm_url: str = knob("embedding.base_url", "")
        embedding_model: str = knob("embedding.model", "")
        embedding_api_key: str = knob("embedding.api_key", "")
        embedding_dimensions: int = knob("embedding.dimensions", 0)
        embedding_instructions: str = knob("embedding.instructions", "", "JSON object")
        chroma_host: str = knob("store.chroma_host", "")
        chroma_port: int = knob("store.chroma_port", 0)
        graph_database_url: str = knob("graph.database_url", "")

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
