"""Scope names are stored as strings; parsing and formatting them must give back the same string."""

from __future__ import annotations

import pytest

from scholargraph.scope_names import ScopeKind, ScopeName, ids_of


@pytest.mark.parametrize("text, kind, ident", [
    ("kb:3f2a-9c", ScopeKind.KB, "3f2a-9c"),
    ("file:f-scan", ScopeKind.FILE, "f-scan"),
    ("kb:a:b", ScopeKind.KB, "a:b"),  # an id may hold a colon
    ("default", ScopeKind.PLAIN, "default"),
    ("kb", ScopeKind.PLAIN, "kb"),  # a CLI collection called "kb" is not a knowledge base
    ("zot: users/123", ScopeKind.PLAIN, "zot: users/123"),  # an unknown prefix is part of the name
])
def test_parse_and_format_round_trip(text: str, kind: ScopeKind, ident: str):
    name = ScopeName.parse(text)
    assert (name.kind, name.id) == (kind, ident)
    assert name.format() == str(name) == text


def test_ids_of_one_kind_in_order():
    scopes = ["kb:b", "file:x", "default", "kb:a"]
    assert ids_of(ScopeKind.KB, scopes) == ["b", "a"]
    assert ids_of(ScopeKind.FILE, scopes) == ["x"]
    assert ScopeName.kb("b").format() == "kb:b" and ScopeName.file("x").format() == "file:x"
