"""
title: Export citations
author: ScholarGraph
author_url: https://github.com/scholargraph/scholargraph
description: The BibTeX (or RIS, CSL-JSON) of the papers an answer cites, to copy or download; keys stay the same across answers.
version: 0.1.0
license: Apache-2.0
requirements: scholargraph
"""

from typing import Any, Literal, Optional

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
        format: Literal["bibtex", "ris", "csl-json"] = Field("bibtex", description="Citation format: bibtex, ris or csl-json.")

    def __init__(self):
        self.valves = self.Valves()

    async def action(self, body: dict, __user__: Optional[dict] = None, **_: Any) -> HTMLResponse:
        # Open WebUI 0.12 shows an HTMLResponse with Content-Disposition: inline as an embed under the message.
        html = await sg.citations_embed(body, valves=self.valves, user=__user__)
        return HTMLResponse(content=html, headers={"Content-Disposition": "inline"})
