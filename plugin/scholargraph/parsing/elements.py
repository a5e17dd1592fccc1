"""The one element type the parsing stages pass along: text, what unstructured called it, its page.

unstructured's Element objects carry a lot we do not use; converting once keeps the rest
of the package independent of its classes and easy to test with hand-made input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Piece:
    """One extracted element. ``kind`` is unstructured's category ('Title', 'NarrativeText', ...)."""

    kind: str
    text: str
    page: int | None = None


def from_unstructured(elements) -> list[Piece]:
    """Pieces from unstructured elements, keeping category, text and page number."""
    return [
        Piece(getattr(element, "category", type(element).__name__), element.text or "", element.metadata.page_number)
        for element in elements
    ]
