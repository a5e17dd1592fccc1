"""
title: ScholarGraph Assistant
author: ScholarGraph
author_url: https://github.com/scholargraph/scholargraph
description: A model that answers from your papers: retrieves passages and their citation-graph neighbours with ScholarGraph, streams a cited answer from the configured chat LLM (without one, quotes the sentences that answer best, each cited) and shows the papers as sources.
version: 0.1.0
license: Apache-2.0
requirements: scholargraph
"""

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field

try:
    from scholargraph import openwebui_bridge as sg
    from scholargraph.openwebui_bridge import knob
except ImportError as exc:
    raise ImportError(
        "ScholarGraph is not installed in Open WebUI's Python environment: "
        "pip install the scholargraph package there (see docs/openwebui.md)"
    ) from exc


class Pipe:
    class Valves(sg.RetrievalValves):
        # Retrieval knobs and the library come from sg.RetrievalValves (one definition for every function).
        # The chat LLM that writes answers (any OpenAI-compatible server); empty = answers quoted from the papers
        llm_url: str = knob("llm.base_url", "")
        llm_model: str = knob("llm.model", "")
        llm_api_key: str = knob("llm.api_key", "")
        temperature: float = knob("llm.temperature")
        answer_language: str = knob("llm.answer_language")
        knowledge_ids: str = Field(
            "", description="Comma-separated knowledge base ids to search when a chat attaches none "
            "(each still checked against the user's access).",
        )

    class UserValves(BaseModel):
        hops: int = Field(-1, description="Graph hops for my questions (0 = no graph expansion); -1 = the admin's setting.")
        keyword_search: Literal["admin", "on", "off"] = Field(
            "admin", description="Also match my questions' exact words (hybrid search: names, acronyms, gene "
            "symbols); 'admin' = the admin's setting.")

    def __init__(self):
        self.valves = self.Valves()

    def pipes(self) -> list[dict]:
        return [{"id": sg.PIPE_MODEL_ID, "name": "ScholarGraph Assistant"}]

    async def pipe(
        self,
        body: dict,
        __user__: Optional[dict] = None,
        __metadata__: Optional[dict] = None,
        __files__: Optional[list] = None,
        __event_emitter__: Any = None,
        __request__: Any = None,
    ) -> Any:
        return await sg.pipe_reply(
            body, valves=self.valves, user=__user__, metadata=__metadata__, files=__files__,
            emitter=__event_emitter__, request=__request__,
        )
