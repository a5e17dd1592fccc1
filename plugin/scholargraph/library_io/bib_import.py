"""Bringing a reference manager's library in: BibTeX, RIS and CSL-JSON files.

An entry with a ``file`` brings its PDF: it is parsed as any ingest would parse it, then the
entry's metadata (title, authors, year, DOI, arXiv id, abstract) replaces the parser's guesses
before the paper is embedded and stored through ``Library.add_parsed``. An entry without a file
(or whose file is missing) enters the library as a metadata-only paper: one chunk, its abstract
(or its title), so it is found by search and resolves the library's references to it. A
metadata-only paper is named by its DOI, arXiv id or title and year, so importing the same
work twice keeps one; when its PDF arrives later, the PDF's paper replaces it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scholargraph.errors import ScholarGraphError
from scholargraph.graph.keys import is_short_title, normalise_arxiv_id, normalise_doi, normalise_title
from scholargraph.ids import content_hash, paper_id_for
from scholargraph.library_io.entries import BibEntry, read_entries
from scholargraph.library_io.records import Record, get_records, put_record
from scholargraph.models import Block, Paper, Section

if TYPE_CHECKING:  # a type only: library_io runs over a Library and is imported by it
    from scholargraph.library import Library

ABSTRACT = "abstract"  # the chunk kind of a metadata-only paper's one passage


@dataclass
class ImportReport:
    """Per entry: what became of it. ``paper_ids`` maps each entry (its key or title) to its paper."""

    format: str = ""
    added: list[str] = field(default_factory=list)  # with their PDF
    updated: list[str] = field(default_factory=list)  # in the scope already, stored again under the entry's metadata
    metadata_only: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already in the scope
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. a file field naming a missing file
    paper_ids: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "added": self.added, "updated": self.updated, "metadata_only": self.metadata_only,
                "skipped": self.skipped, "failed": [{"entry": e, "error": m} for e, m in self.failed],
                "notes": self.notes, "paper_ids": self.paper_ids}

    def summary(self) -> str:
        return (f"{len(self.added)} with their file, {len(self.updated)} updated, {len(self.metadata_only)} metadata-only, "
                f"{len(self.skipped)} already there, {len(self.failed)} failed")


def import_file(library: Library, path: str | Path, scope: str = "default",
                progress: Callable[[str, str], None] | None = None) -> ImportReport:
    """Import every entry of a .bib, .ris or CSL-JSON file into ``scope``."""
    fmt, entries = read_entries(path)
    report = import_entries(library, entries, scope, import_format=fmt, origin=str(Path(path).expanduser().absolute()),
                            progress=progress)
    report.format = fmt
    return report


def import_entries(library: Library, entries: list[BibEntry], scope: str, import_format: str, origin: str,
                   progress: Callable[[str, str], None] | None = None,
                   held: dict[tuple[str, str], str] | None = None) -> ImportReport:
    """Import parsed entries; ``origin`` names where they came from (kept for metadata-only papers),
    ``import_format`` what they were read as (bibtex, ris, csl-json, zotero).
    ``held``: the scope's papers by key (``held_keys``), for callers importing entry by entry."""
    report = ImportReport()
    held = held_keys(library, scope) if held is None else held
    for entry in entries:
        name = entry.key or entry.title[:80] or "(untitled)"
        try:
            status, paper_id = _import_one(library, entry, scope, import_format, origin, held, report)
        except ScholarGraphError as exc:
            report.failed.append((name, str(exc)))
            if progress:
                progress(name, f"failed: {exc}")
            continue
        report.paper_ids[name] = paper_id
        getattr(report, status).append(name)
        if progress:
            progress(name, status)
    return report


def _import_one(library: Library, entry: BibEntry, scope: str, import_format: str, origin: str,
                held: dict[tuple[str, str], str], report: ImportReport) -> tuple[str, str]:
    record = Record(cite_key=entry.key, entry_type=entry.entry_type, venue=entry.venue, url=entry.url,
                    tags=entry.tags, import_format=import_format)
    pdfs = [f for f in entry.files if f.suffix.lower() == ".pdf" or f.suffix.lower() in _supported()]
    present = [f for f in pdfs if f.is_file()]
    for missing in (f for f in pdfs if not f.is_file()):
        report.notes.append(f"{entry.key or entry.title[:60]}: file {missing} not found; imported without it")
    if present:
        status, paper_id = _with_file(library, entry, present[0].absolute(), scope, record, report)
        for key in _entry_keys(entry):
            held[key] = paper_id
        return status, paper_id
    known = next((held[k] for k in _entry_keys(entry) if k in held), None)
    if known and not library.graph.in_scope(known, scope):
        known = None  # gone since (a stand-in replaced by its PDF, an item removed)
    if known:
        if not get_records(library.graph, [known]):  # keep the user's key for export
            put_record(library.graph, known, record)
        return "skipped", known
    paper = metadata_paper(entry, f"{origin}#{entry.key or _identity(entry)}")
    if library.graph.in_scope(paper.id, scope):
        return "skipped", paper.id
    got = library.add_parsed([paper], scope=scope)
    if got.failed:
        raise ScholarGraphError(got.failed[0][1])
    put_record(library.graph, paper.id, Record(**{**record.__dict__, "metadata_only": True}))
    for key in _entry_keys(entry):
        held.setdefault(key, paper.id)
    return "metadata_only", paper.id


def _supported() -> set[str]:
    from scholargraph.parsing import SUPPORTED_SUFFIXES

    return set(SUPPORTED_SUFFIXES)


def _with_file(library: Library, entry: BibEntry, path: Path, scope: str, record: Record,
               report: ImportReport) -> tuple[str, str]:
    """The entry's file through the normal ingest path, its metadata winning over the parser's.

    A paper already in the scope whose stored metadata the entry contradicts is stored again
    under the entry's (re-embedded: the title is part of every passage's vector), unless other
    knowledge bases hold it too, whose metadata is not this import's to change."""
    from scholargraph.parsing import parse_file_with_stats

    digest = content_hash(path)
    paper_id = paper_id_for(digest)
    graph = library.graph
    status = "added"
    if graph.in_scope(paper_id, scope):
        graph.add_origin(paper_id, scope, str(path))
        if not _differs(graph.get_paper(paper_id), entry):
            put_record(graph, paper_id, record)
            return "skipped", paper_id
        if graph.scopes_of(paper_id) != {scope}:
            report.notes.append(f"{entry.key or entry.title[:60]}: its paper is shared with other knowledge bases; "
                                "their metadata was kept")
            return "skipped", paper_id
        library.delete(paper_id)  # stored again below, under the entry's metadata
        status = "updated"
    if graph.has_paper(paper_id):  # embedded in another scope: copied, not parsed again
        got = library.ingest([path], scope=scope)
        if got.failed:
            raise ScholarGraphError(got.failed[0][1])
    else:
        paper, _ = parse_file_with_stats(path, library.settings.parsing, digest)
        apply_entry(paper, entry)
        paper.origin = str(path)
        got = library.add_parsed([paper], scope=scope)
        if got.failed:
            raise ScholarGraphError(got.failed[0][1])
    put_record(graph, paper_id, record)
    try:  # a metadata-only paper of this work, imported before, gives way to the file's
        stand_in = paper_id_for(_stand_in_digest(entry))
    except ScholarGraphError:
        return status, paper_id
    if stand_in != paper_id and graph.in_scope(stand_in, scope):
        library.delete(stand_in, scope)
    return status, paper_id


def _differs(stored: Mapping[str, Any] | None, entry: BibEntry) -> bool:
    """Whether the entry says something else than the stored paper (where the entry says anything)."""
    if stored is None:
        return False
    pairs = [
        (normalise_title(entry.title), normalise_title(stored["title"])),
        (entry.year, stored["year"]),
        (normalise_doi(entry.doi), stored["doi"]),
        (normalise_arxiv_id(entry.arxiv_id), stored["arxiv_id"]),
        ([" ".join(a.split()) for a in entry.authors], [" ".join(a.split()) for a in stored["authors"]]),
        (" ".join(entry.abstract.split()), " ".join((stored.get("abstract") or "").split())),
    ]
    return any(new and new != old for new, old in pairs)


def apply_entry(paper: Paper, entry: BibEntry) -> Paper:
    """The reference manager's metadata wins where it has any; the parser's stays elsewhere."""
    paper.title = entry.title or paper.title
    paper.authors = list(entry.authors) or paper.authors
    paper.year = entry.year or paper.year
    paper.doi = entry.doi or paper.doi
    paper.arxiv_id = entry.arxiv_id or paper.arxiv_id
    paper.abstract = entry.abstract or paper.abstract
    return paper


def _identity(entry: BibEntry) -> str:
    """What names a work without a file: DOI, else arXiv id, else normalised title and year."""
    doi = normalise_doi(entry.doi)
    if doi:
        return f"doi:{doi}"
    arxiv = normalise_arxiv_id(entry.arxiv_id)
    if arxiv:
        return f"arxiv:{arxiv}"
    title = normalise_title(entry.title)
    if not title:
        raise ScholarGraphError("entry has no title, DOI or arXiv id; nothing to name it by")
    return f"title:{title}:{entry.year or ''}"


def _stand_in_digest(entry: BibEntry) -> str:
    return hashlib.sha256(f"metadata-only\n{_identity(entry)}".encode()).hexdigest()


def metadata_paper(entry: BibEntry, origin: str) -> Paper:
    """A paper with no file: its abstract (else its title) is its one passage."""
    digest = _stand_in_digest(entry)
    text = entry.abstract.strip() or entry.title.strip()
    return Paper(
        id=paper_id_for(digest), content_hash=digest, origin=origin, title=entry.title.strip(),
        authors=list(entry.authors), year=entry.year, doi=normalise_doi(entry.doi),
        arxiv_id=normalise_arxiv_id(entry.arxiv_id), abstract=entry.abstract.strip(),
        language=_language(entry),
        sections=[Section("Abstract", [Block(text, None, ABSTRACT)])], pages=0,
    )


def _language(entry: BibEntry) -> str:
    """The entry's language from its abstract; a bare ASCII title is taken as English, as
    short-text detection costs a quarter second an entry and often guesses on a title alone."""
    from scholargraph.language import detect_language

    if not entry.abstract.strip() and entry.title.isascii():
        return "en"
    return detect_language(f"{entry.title}\n{entry.abstract}", fallback="en")


def _entry_keys(entry: BibEntry) -> list[tuple[str, str]]:
    keys = []
    for kind, value in (("doi", normalise_doi(entry.doi)), ("arxiv", normalise_arxiv_id(entry.arxiv_id)),
                        ("title", _distinctive(entry.title))):
        if value:
            keys.append((kind, value))
    return keys


def _distinctive(title: str | None) -> str | None:
    """The normalised title when it can name one work ("Introduction" cannot)."""
    norm = normalise_title(title)
    return norm if norm and not is_short_title(norm) else None


def held_keys(library: Library, scope: str) -> dict[tuple[str, str], str]:
    """The scope's papers by DOI, arXiv id and normalised title: an entry matching one is held."""
    held: dict[tuple[str, str], str] = {}
    for paper in library.graph.papers([scope]):
        for kind, value in (("doi", paper["doi"]), ("arxiv", paper["arxiv_id"]), ("title", _distinctive(paper["title"]))):
            if value:
                held.setdefault((kind, value), paper["id"])
    return held
