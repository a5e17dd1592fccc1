"""
title: Show paper graph
author: ScholarGraph
author_url: https://github.com/scholargraph/scholargraph
description: Shows the citation graph around the papers an answer cites, as an interactive embed; click a paper for its links, double-click to open it.
version: 0.1.0
license: Apache-2.0
requirements: scholargraph
"""

from typing import Any, Optional

from fastapi.responses import HTMLResponse
from pydantic import Field

try:
    from scholargraph.faces import openwebui as sg
except ImportError as exc:
    raise ImportError(
        "ScholarGraph is not installed in Open WebUI's Python environment: "
        "pip install the scholargraph package there (see docs/openwebui.md)"
    ) from exc


class Action:
    class Valves(sg.LibraryValves):
        # The library's valves come from sg.LibraryValves (one definition for every function).
        graph_hops: int = Field(1, description="How far around the cited papers the graph reaches.")
        height: int = Field(480, description="Height of the embedded graph, in pixels.")

    def __init__(self):
        self.valves = self.Valves()

    async def action(self, body: dict, __user__: Optional[dict] = None, __request__: Any = None, **_: Any) -> HTMLResponse:
        # Open WebUI 0.12 shows an HTMLResponse with Content-Disposition: inline as an embed under the message.
        html = await sg.graph_embed(body, valves=self.valves, user=__user__, request=__request__)
        return HTMLResponse(content=html, headers={"Content-Disposition": "inline"})
