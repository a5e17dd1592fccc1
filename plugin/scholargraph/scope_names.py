"""Scope names: where a paper is visible, written as one string.

A scope is a permission: every read of the library takes the scopes its caller may see. An
Open WebUI knowledge base is ``kb:{knowledge_id}``, a file attached to a chat ``file:{file_id}``;
any other name ("default", a CLI ``--kb`` collection) is a plain name. The graph and the vector
store keep the strings, so ``format`` writes exactly what ``parse`` reads, and code that needs
the id behind a scope parses it here instead of slicing the string.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class ScopeKind(Enum):
    """What a scope stands for; the value is its prefix ('' for a plain name)."""

    KB = "kb"
    FILE = "file"
    PLAIN = ""


_PREFIXED = {kind.value: kind for kind in ScopeKind if kind is not ScopeKind.PLAIN}


@dataclass(frozen=True)
class ScopeName:
    """A scope as its kind and id: ``ScopeName.parse("kb:abc") == ScopeName(ScopeKind.KB, "abc")``."""

    kind: ScopeKind
    id: str

    @classmethod
    def parse(cls, text: str) -> ScopeName:
        """The kind and id of a stored scope string; a name with no known prefix is plain."""
        prefix, colon, rest = text.partition(":")
        kind = _PREFIXED.get(prefix) if colon else None
        return cls(kind, rest) if kind is not None else cls(ScopeKind.PLAIN, text)

    @classmethod
    def kb(cls, knowledge_id: str) -> ScopeName:
        return cls(ScopeKind.KB, knowledge_id)

    @classmethod
    def file(cls, file_id: str) -> ScopeName:
        return cls(ScopeKind.FILE, file_id)

    def format(self) -> str:
        """The string the library stores: ``kb:{id}``, ``file:{id}`` or the plain name."""
        return self.id if self.kind is ScopeKind.PLAIN else f"{self.kind.value}:{self.id}"

    def __str__(self) -> str:
        return self.format()


def ids_of(kind: ScopeKind, scopes: Iterable[str]) -> list[str]:
    """The ids of the scopes of one kind, in order: ``ids_of(KB, ["kb:a", "file:b"]) == ["a"]``."""
    return [name.id for name in map(ScopeName.parse, scopes) if name.kind is kind]
