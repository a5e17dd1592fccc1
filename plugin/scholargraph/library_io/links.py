"""Where a work can be found on the web, from the identifiers the graph keeps (normalised)."""

from __future__ import annotations

from scholargraph.graph.keys import normalise_arxiv_id, normalise_doi


def doi_url(doi: str | None) -> str | None:
    normal = normalise_doi(doi)
    return f"https://doi.org/{normal}" if normal else None


def arxiv_url(arxiv_id: str | None) -> str | None:
    normal = normalise_arxiv_id(arxiv_id)
    return f"https://arxiv.org/abs/{normal}" if normal else None


def best_url(doi: str | None, arxiv_id: str | None, url: str | None = None) -> str | None:
    """The DOI resolver first (the version of record), then arXiv, then whatever URL is known."""
    return doi_url(doi) or arxiv_url(arxiv_id) or url or None
