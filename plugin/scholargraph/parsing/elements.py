"""The one element type the parsing stages pass along: text, what unstructured called it, its page.

unstructured's Element objects carry a lot we do not use; converting once keeps the rest
of the package independent of its classes and easy to test with hand-made input. Elements
read with pdfium also carry how they were set (font size, bold, box), which later stages
may use to tell headings, captions and page furniture from body text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Piece:
    """One extracted element. ``kind`` is unstructured's category ('Title', 'NarrativeText', ...).

    ``font_size`` (points, the largest in the element), ``bold`` (every line bold) and ``bbox``
    (x0, top, x1, bottom in points from the page's top-left) are known for PDF text layers
    read with pdfium, None/False otherwise.
    """

    kind: str
    text: str
    page: int | None = None
    font_size: float | None = None
    bold: bool = False
    bbox: tuple[float, float, float, float] | None = None


def from_unstructured(elements) -> list[Piece]:
    """Pieces from unstructured elements, keeping category, text, page number and box."""
    return [
        Piece(
            getattr(element, "category", type(element).__name__), element.text or "", element.metadata.page_number,
            bbox=_box(element),
        )
        for element in elements
    ]


def _box(element) -> tuple[float, float, float, float] | None:
    """(x0, top, x1, bottom) from unstructured's coordinates (points from the top-left for PDFs)."""
    points = getattr(getattr(element.metadata, "coordinates", None), "points", None)
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1))
