"""LangChain faces over the engine: a retriever (hits plus graph neighbours) and an Embeddings class.

They wrap ``Library`` and the configured embedder so a LangChain chain gets exactly what the
CLI and Open WebUI get.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from scholargraph.library import Library  # the front door; pydantic needs the class at run time
from scholargraph.retrieval.results import Passage

if TYPE_CHECKING:
    from scholargraph.embedding.base import Embedder


def passage_document(passage: Passage) -> Document:
    """A passage as a LangChain Document: its text, and its paper and place as metadata; a
    neighbour's also says how it hangs on the hit paper (``relation``, ``via``)."""
    # "source" is LangChain's metadata key for where a Document came from: the passage's origin
    metadata: dict[str, Any] = {"paper_id": passage.paper_id, "title": passage.title, "section": passage.section,
                                "page": passage.page, "score": passage.score, "source": passage.origin,
                                "kind": "neighbour" if passage.is_neighbour else "hit"}
    if passage.is_neighbour:
        metadata |= {"relation": passage.relation, "via": passage.via}
    return Document(page_content=passage.text, metadata=metadata)


class ScholarGraphRetriever(BaseRetriever):
    """Passages for a question, then graph neighbours, as Documents with paper metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    library: Library
    scopes: list[str] | None = None
    k: int | None = None
    hops: int | None = None
    hybrid: bool | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        result = self.library.search(query, self.scopes, k=self.k, hops=self.hops, hybrid=self.hybrid)
        return [passage_document(p) for p in result.hits + result.neighbours]


class ScholarGraphEmbeddings(Embeddings):
    """The library's embedder: documents unprefixed, queries with the model's instruction."""

    def __init__(self, embedder: Embedder, task: str = "retrieve") -> None:
        self.embedder = embedder
        self.task = task

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.embedder.embed_documents(list(texts)).tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = self.embedder.embed_queries([text], task=self.task)[0].tolist()
        return vector
