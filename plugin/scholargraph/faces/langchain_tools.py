"""LangChain faces over the engine: a retriever (hits plus graph neighbours) and an Embeddings class.

They wrap ``Library`` and the configured embedder so a LangChain chain gets exactly what the
CLI and Open WebUI get.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict


class ScholarGraphRetriever(BaseRetriever):
    """Passages for a question, then graph neighbours, as Documents with paper metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Any
    scopes: list[str] | None = None
    k: int | None = None
    hops: int | None = None
    hybrid: bool | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.library.search(query, self.scopes, k=self.k, hops=self.hops, hybrid=self.hybrid)
        docs = [
            Document(
                page_content=h.text,
                metadata={"paper_id": h.paper_id, "title": h.title, "section": h.section, "page": h.page,
                          "score": h.score, "source": h.source, "kind": "hit"},
            )
            for h in result.hits
        ]
        docs += [
            Document(
                page_content=n.text,
                metadata={"paper_id": n.paper_id, "title": n.title, "section": n.section, "page": n.page,
                          "score": n.score, "source": n.source, "kind": "neighbour",
                          "relation": n.relation, "via": n.via},
            )
            for n in result.neighbours
        ]
        return docs


class ScholarGraphEmbeddings(Embeddings):
    """The library's embedder: documents unprefixed, queries with the model's instruction."""

    def __init__(self, embedder: Any, task: str = "retrieve") -> None:
        self.embedder = embedder
        self.task = task

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text], task=self.task)[0].tolist()
