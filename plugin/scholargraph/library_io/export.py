"""Citations out: the library's papers as BibTeX, RIS or CSL-JSON.

Keys are stable across runs: the key the user's own file gave a paper when it was imported,
else ``firstauthorYEARfirstword`` (``shen2021layoutparser``), made unique over the whole visible
library in paper-id order (``...a``, ``...b``), so exporting a subset never renames a paper.
Each entry carries its DOI, arXiv id and a URL, and ``file`` when the paper's PDF is still
where it was ingested from (so a re-import brings the same file, hence the same paper).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rispy

from scholargraph.errors import ScholarGraphError
from scholargraph.graph.keys import ascii_word
from scholargraph.library_io.links import arxiv_url, best_url
from scholargraph.library_io.records import Record, get_records

if TYPE_CHECKING:  # a type only: library_io runs over a Library and is imported by it
    from scholargraph.library import Library

FORMATS = ("bibtex", "ris", "csl-json")
MEDIA_TYPES = {"bibtex": "application/x-bibtex", "ris": "application/x-research-info-systems",
               "csl-json": "application/vnd.citationstyles.csl+json"}
SUFFIXES = {"bibtex": ".bib", "ris": ".ris", "csl-json": ".json"}
# Words a key never starts from: they say nothing about the paper.
_KEY_STOPWORDS = {"a", "an", "the", "on", "of", "for", "in", "to", "and", "towards", "toward", "with", "from", "via", "is"}
_RIS_TYPES = {"article": "JOUR", "inproceedings": "CPAPER", "book": "BOOK", "incollection": "CHAP",
              "phdthesis": "THES", "techreport": "RPRT", "misc": "GEN"}
_CSL_TYPES = {"article": "article-journal", "inproceedings": "paper-conference", "book": "book",
              "incollection": "chapter", "phdthesis": "thesis", "techreport": "report", "misc": "article"}
_VENUE_FIELD = {"article": "journal", "inproceedings": "booktitle", "incollection": "booktitle"}


@dataclass
class Work:
    """One paper as a citation: the graph's metadata, the import record, its citation key."""

    key: str
    id: str
    title: str
    authors: list[str]
    year: int | None
    doi: str | None
    arxiv_id: str | None
    abstract: str
    url: str | None
    entry_type: str
    venue: str | None
    file: str | None
    tags: list[str] = field(default_factory=list)


def family_name(name: str) -> str:
    """'Lo, Kyle' and 'Kyle Lo' both give 'Lo'."""
    name = name.strip()
    if "," in name:
        return name.split(",", 1)[0].strip()
    return name.split()[-1] if name.split() else ""


def split_name(name: str) -> tuple[str, str]:
    """(given, family) of a name written either way."""
    name = " ".join(name.split())
    if "," in name:
        family, given = (p.strip() for p in name.split(",", 1))
        return given, family
    parts = name.rsplit(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else ("", name)


def base_key(authors: list[str], year: int | None, title: str) -> str:
    """``firstauthorYEARfirstword`` in plain ASCII; 'anon' and 'nd' stand in for what is unknown."""
    author = ascii_word(family_name(authors[0])) if authors else ""
    words = [ascii_word(w) for w in re.split(r"[\s\-:/]+", title or "")]
    first = next((w for w in words if w and w not in _KEY_STOPWORDS), "")
    return f"{author or 'anon'}{year or 'nd'}{first}"


def works(library: Library, scopes: list[str] | None = None, paper_ids: list[str] | None = None) -> list[Work]:
    """The visible papers (or those of ``paper_ids``, in that order) as citations with stable keys."""
    rows = library.papers(scopes)
    records = get_records(library.graph, [r["id"] for r in rows])
    keys = _unique_keys(rows, records)
    by_id = {r["id"]: r for r in rows}
    if paper_ids is not None:
        missing = [p for p in paper_ids if p not in by_id]
        if missing:
            raise ScholarGraphError(f"no paper {', '.join(missing)} in the library"
                                    + (f" scope(s) {', '.join(scopes)}" if scopes else "")
                                    + "; see `scholargraph papers` for ids")
        chosen = [by_id[p] for p in dict.fromkeys(paper_ids)]
    else:
        chosen = sorted(rows, key=lambda r: keys[r["id"]])
    details = {p: library.graph.get_paper(p, scopes) for p in (r["id"] for r in chosen)}
    return [_work(row, keys[row["id"]], records.get(row["id"]), details[row["id"]]) for row in chosen]


def _unique_keys(rows: Sequence[Mapping[str, Any]], records: dict[str, Record]) -> dict[str, str]:
    """Imported keys stay; generated ones get a/b/c suffixes in paper-id order when they collide."""
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for row in sorted(rows, key=lambda r: r["id"]):
        record = records.get(row["id"])
        if record and record.cite_key and record.cite_key not in taken:
            keys[row["id"]] = record.cite_key
            taken.add(record.cite_key)
    for row in sorted(rows, key=lambda r: r["id"]):
        if row["id"] in keys:
            continue
        base = base_key(row["authors"], row["year"], row["title"])
        key, n = base, 0
        while key in taken:
            key = base + _suffix(n)
            n += 1
        keys[row["id"]] = key
        taken.add(key)
    return keys


def _suffix(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _work(row: Mapping[str, Any], key: str, record: Record | None, detail: Mapping[str, Any] | None) -> Work:
    origin = row.get("source") or ""  # a paper row's "source" is its origin
    on_disk = bool(origin) and not (record and record.metadata_only) and Path(origin).is_file()
    return Work(
        key=key, id=row["id"], title=row["title"], authors=list(row["authors"] or []), year=row["year"],
        doi=row["doi"], arxiv_id=row["arxiv_id"], abstract=(detail or {}).get("abstract") or "",
        url=best_url(row["doi"], row["arxiv_id"], record.url if record else None),
        entry_type=(record.entry_type if record and record.entry_type else
                    ("misc" if row["arxiv_id"] and not row["doi"] else "article")),
        venue=record.venue if record else None,
        file=str(Path(origin).resolve()) if on_disk else None,
        tags=list(record.tags) if record else [],
    )


def export(library: Library, fmt: str, scopes: list[str] | None = None, paper_ids: list[str] | None = None) -> str:
    """The chosen papers in ``fmt`` (bibtex, ris, csl-json), as text."""
    if fmt not in FORMATS:
        raise ScholarGraphError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    chosen = works(library, scopes, paper_ids)
    return {"bibtex": to_bibtex, "ris": to_ris, "csl-json": to_csl_json}[fmt](chosen)


def to_bibtex(items: list[Work]) -> str:
    """BibTeX via bibtexparser; text fields LaTeX-escaped, identifiers and paths verbatim."""
    import bibtexparser
    from bibtexparser import middlewares as m
    from bibtexparser.model import Entry, Field
    from pylatexenc.latexencode import UnicodeToLatexEncoder

    library = bibtexparser.Library()
    for w in items:
        fields = [Field("title", w.title), Field("author", " and ".join(w.authors))]
        if w.venue:
            fields.append(Field(_VENUE_FIELD.get(w.entry_type, "howpublished"), w.venue))
        if w.abstract:
            fields.append(Field("abstract", w.abstract))
        if w.tags:
            fields.append(Field("keywords", ", ".join(w.tags)))
        library.add(Entry(w.entry_type, w.key, [f for f in fields if f.value]))
    # characters without a LaTeX macro (CJK) stay UTF-8, which biber and modern BibTeX read
    encoder = UnicodeToLatexEncoder(conversion_rules=["defaults"], unknown_char_policy="keep", unknown_char_warning=False)
    library = m.LatexEncodingMiddleware(encoder=encoder).transform(library)
    for entry, w in zip(library.entries, items):
        verbatim = [("year", str(w.year) if w.year else None), ("doi", w.doi),
                    ("eprint", w.arxiv_id), ("archiveprefix", "arXiv" if w.arxiv_id else None),
                    ("url", w.url), ("file", w.file)]
        for name, value in verbatim:
            if value:
                entry.set_field(Field(name, value))
    return bibtexparser.write_string(library)


def to_ris(items: list[Work]) -> str:
    """RIS via rispy: arXiv id as its abstract-page URL (RIS has no tag of its own for it)."""
    entries = []
    for w in items:
        urls = [u for u in dict.fromkeys([w.url, arxiv_url(w.arxiv_id)]) if u]
        entry: dict[str, Any] = {"type_of_reference": _RIS_TYPES.get(w.entry_type, "GEN"), "id": w.key,
                                 "title": w.title, "authors": w.authors}
        optional = {"year": str(w.year) if w.year else None, "doi": w.doi, "abstract": " ".join(w.abstract.split()) or None,
                    "secondary_title": w.venue, "urls": urls or None, "keywords": w.tags or None,
                    "file_attachments1": w.file}
        entry.update({k: v for k, v in optional.items() if v})
        entries.append(entry)
    return rispy.dumps(entries, implementation=_RisWriter)


class _RisWriter(rispy.RisWriter):
    """rispy's writer without the '1.' line it puts before each record, which other readers reject."""

    def set_header(self, count: int) -> str:
        return ""


def to_csl_json(items: list[Work]) -> str:
    """CSL-JSON (the citation-style-language data schema) as plain JSON."""
    out = []
    for w in items:
        item: dict[str, Any] = {"id": w.key, "type": _CSL_TYPES.get(w.entry_type, "article"), "title": w.title,
                                "author": [_csl_name(a) for a in w.authors]}
        if w.year:
            item["issued"] = {"date-parts": [[w.year]]}
        optional = {"DOI": w.doi, "URL": w.url, "abstract": w.abstract or None, "container-title": w.venue,
                    "note": f"arXiv:{w.arxiv_id}" if w.arxiv_id else None,
                    "keyword": ", ".join(w.tags) if w.tags else None}
        item.update({k: v for k, v in optional.items() if v})
        out.append(item)
    return json.dumps(out, ensure_ascii=False, indent=2) + "\n"


def _csl_name(name: str) -> dict[str, str]:
    given, family = split_name(name)
    return {"family": family, "given": given} if given else {"literal": family}
