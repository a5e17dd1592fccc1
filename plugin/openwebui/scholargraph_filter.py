"""
title: ScholarGraph — graph-aware paper retrieval
author: ScholarGraph
author_url: https://github.com/scholargraph/scholargraph
description: For chats with knowledge bases or paper files attached, retrieves passages and their citation-graph neighbours with ScholarGraph and hands them to Open WebUI as numbered, citable sources.
version: 0.1.0
license: Apache-2.0
requirements: scholargraph
"""

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

try:
    from scholargraph.faces import openwebui as sg
except ImportError as exc:  # the function cannot work without the engine in Open WebUI's environment
    raise ImportError(
        "ScholarGraph is not installed in Open WebUI's Python environment: "
        "pip install the scholargraph package there (see docs/openwebui.md)"
    ) from exc


class Filter:
    class Valves(sg.RetrievalValves):
        # Retrieval knobs and the library come from sg.RetrievalValves (one definition for every function).
        # Which chats the filter acts on
        priority: int = Field(0, description="Order among filters (lower runs first).")
        all_models: bool = Field(True, description="Act on chats with every model (except the ScholarGraph Assistant pipe).")
        model_ids: str = Field("", description="Comma-separated model ids to act on when 'all_models' is off.")
        file_handler: bool = Field(
            True,
            description="Take the knowledge bases and paper files ScholarGraph answered for away from "
            "Open WebUI's own RAG (no second, graph-less context). Other attachments stay with Open WebUI.",
        )
        index_on_demand: bool = Field(
            True,
            description="Index knowledge-base files and chat files that are not indexed yet when a chat "
            "uses them (the Event function normally indexes knowledge bases as files are added).",
        )

    class UserValves(BaseModel):
        enabled: bool = Field(True, description="Use ScholarGraph for knowledge bases and papers in my chats.")
        hops: int = Field(-1, description="Graph hops for my chats (0 = no graph expansion); -1 = the admin's setting.")
        keyword_search: Literal["admin", "on", "off"] = Field(
            "admin", description="Also match my questions' exact words (hybrid search: names, acronyms, gene "
            "symbols); 'admin' = the admin's setting.")
        library_questions: Literal["admin", "auto", "off", "always"] = Field(
            "admin", description="Answer questions about my whole library ('what are the main themes of my papers?') "
            "from its graph: themes, in-library citations, abstracts; 'auto' = when a question sounds like one; "
            "'admin' = the admin's setting.")
        answer_language: str = Field("", description="Ask the chat model to answer in this language (e.g. 'en', 'zh'); empty = the question's language.")

    def __init__(self):
        self.valves = self.Valves()

    async def inlet(
        self,
        body: dict,
        __user__: Optional[dict] = None,
        __metadata__: Optional[dict] = None,
        __event_emitter__: Any = None,
        __request__: Any = None,
    ) -> dict:
        return await sg.filter_inlet(
            body, valves=self.valves, user=__user__, metadata=__metadata__,
            emitter=__event_emitter__, request=__request__,
        )
