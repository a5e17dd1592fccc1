"""One exception tree, so faces can catch ScholarGraphError and show its message as is.

Every message names the file, service or setting at fault and what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class ScholarGraphError(Exception):
    """Root of every error ScholarGraph raises on purpose."""


class ConfigError(ScholarGraphError):
    """A setting is missing or inconsistent."""


class ParseError(ScholarGraphError):
    """A file could not be turned into a paper; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{Path(path).name}: {reason}")


class EmbeddingError(ScholarGraphError):
    """The embedding backend failed after retries, or answered something unusable."""


class StoreError(ScholarGraphError):
    """The vector store or the graph database failed."""


class LLMError(ScholarGraphError):
    """The chat LLM endpoint failed after retries."""
