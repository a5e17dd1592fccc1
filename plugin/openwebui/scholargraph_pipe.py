"""
title: ScholarGraph Assistant
author: ScholarGraph
author_url: https://github.com/scholargraph/scholargraph
description: A model that answers from your papers: retrieves passages and their citation-graph neighbours with ScholarGraph, streams a cited answer from one of Open WebUI's own models (the base_model valve; without one, quotes the sentences that answer best, each cited) and shows the papers as sources.
version: 0.1.0
license: Apache-2.0
requirements: scholargraph
"""

from typing import Any, Literal, Optional

from pydantic import Field

try:
    from scholargraph.faces import openwebui as sg
    from scholargraph.faces.openwebui import knob
    from scholargraph.faces.openwebui.valves import AssistantModelValves, AssistantUserValves
except ImportError as exc:
    raise ImportError(
        "ScholarGraph is not installed in Open WebUI's Python environment: "
        "pip install the scholargraph package there (see docs/openwebui.md)"
    ) from exc


class Pipe:
    class Valves(sg.RetrievalValves, AssistantModelValves):
        # base_model (first: the model of Open WebUI's that writes answers) comes from AssistantModelValves;
        # retrieval knobs and the library from sg.RetrievalValves (one definition for every function).
        knowledge_ids: str = Field(
            "", description="Comma-separated knowledge base ids to search when a chat attaches none "
            "(each still checked against the user's access).",
        )
        # A chat LLM of ScholarGraph's own (any OpenAI-compatible server), used only when base_model is empty
        llm_url: str = knob("llm.base_url", "")
        llm_model: str = knob("llm.model", "")
        llm_api_key: str = knob("llm.api_key", "", secret=True)
        temperature: float = knob("llm.temperature")
        answer_language: str = knob("llm.answer_language")

    class UserValves(AssistantUserValves):
        # base_model (my own choice of Open WebUI model) comes from AssistantUserValves
        hops: int = Field(-1, description="Graph hops for my questions (0 = no graph expansion); -1 = the admin's setting.")
        keyword_search: Literal["admin", "on", "off"] = Field(
            "admin", description="Also match my questions' exact words (hybrid search: names, acronyms, gene "
            "symbols); 'admin' = the admin's setting.")
        library_questions: Literal["admin", "auto", "off", "always"] = Field(
            "admin", description="Answer questions about my whole library ('what are the main themes of my papers?') "
            "from its graph: themes, in-library citations, abstracts; 'auto' = when a question sounds like one; "
            "'admin' = the admin's setting.")

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
