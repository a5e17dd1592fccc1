"""Reference-manager entries (BibTeX, RIS, CSL-JSON) read into one shape, ``BibEntry``.

BibTeX is read with bibtexparser (names split and merged to "First Last"; LaTeX decoded in text
fields only, so a URL's ``%20`` is not taken for a comment), RIS with rispy, CSL-JSON as JSON.
``file`` fields are read in the forms reference managers write them: Zotero/JabRef
``Description:path:type`` lists separated by ``;``, plain paths, ``file://`` URLs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from scholargraph.errors import ScholarGraphError
from scholargraph.graph.keys import arxiv_id_from_doi, find_arxiv_id, normalise_arxiv_id, normalise_doi

_YEAR = re.compile(r"(1[5-9]\d\d|20\d\d)")
_RIS_TYPES = {"JOUR": "article", "JFULL": "article", "CPAPER": "inproceedings", "CONF": "inproceedings",
              "BOOK": "book", "CHAP": "incollection", "THES": "phdthesis", "RPRT": "techreport", "GEN": "misc"}
_CSL_TYPES = {"article-journal": "article", "paper-conference": "inproceedings", "book": "book",
              "chapter": "incollection", "thesis": "phdthesis", "report": "techreport", "article": "misc"}
_BIB_TEXT_FIELDS = ("title", "abstract", "journal", "booktitle", "keywords", "howpublished")


@dataclass
class BibEntry:
    """One work as a reference manager describes it; ``files`` are absolute paths."""

    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    doi: str | None = None
    arxiv_id: str | None = None
    abstract: str = ""
    url: str | None = None
    venue: str | None = None
    entry_type: str = "article"
    key: str | None = None
    files: list[Path] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def read_entries(path: str | Path) -> tuple[str, list[BibEntry]]:
    """(format, entries) of a .bib, .ris or CSL-JSON file; the format is sniffed when the suffix is unclear."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ScholarGraphError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    suffix = path.suffix.lower()
    stripped = text.lstrip()
    if suffix in (".json", ".csljson") or stripped.startswith(("[", "{")):
        return "csl-json", from_csl_json(text, path.parent)
    if suffix in (".ris", ".txt") or stripped.startswith("TY  -"):
        return "ris", from_ris(text, path.parent)
    if suffix in (".bib", ".bibtex") or stripped.startswith("@"):
        return "bibtex", from_bibtex(text, path.parent)
    raise ScholarGraphError(f"{path}: not a BibTeX, RIS or CSL-JSON file (use .bib, .ris or .json)")


def year_from(value: Any) -> int | None:
    found = _YEAR.search(str(value or ""))
    return int(found.group(1)) if found else None


def arxiv_from(*texts: str | None, eprint: str | None = None, doi: str | None = None) -> str | None:
    """The arXiv id from an eprint field, arXiv's DOI, or a text that names arXiv (never from
    any digits-dot-digits, which DOIs are full of)."""
    found = normalise_arxiv_id(eprint) if eprint else None
    found = found or arxiv_id_from_doi(doi)
    for text in texts:
        if found:
            break
        found = normalise_arxiv_id(find_arxiv_id(text or ""))
    return found


def _path(raw: str, base: Path) -> Path:
    raw = raw.strip()
    if raw.startswith("file://"):
        raw = unquote(urlparse(raw).path)
    path = Path(raw).expanduser()
    return path if path.is_absolute() else (base / path)


def parse_file_field(value: str, base: Path) -> list[Path]:
    """Paths named by a BibTeX ``file`` field: 'Full Text:/x/a.pdf:application/pdf;:b.pdf:PDF' or '/x/a.pdf'."""
    out: list[Path] = []
    for part in re.split(r"(?<!\\);", value or ""):
        part = part.strip()
        if not part:
            continue
        pieces = re.split(r"(?<!\\):", part)
        if len(pieces) >= 3:
            candidate = ":".join(pieces[1:-1])  # Description:path:type; a Windows drive keeps its colon
        elif len(pieces) == 2 and not pieces[0]:
            candidate = pieces[1]  # ':path'
        else:
            candidate = part
        candidate = candidate.replace("\\:", ":").replace("\\\\", "\\")
        out.append(_path(candidate, base))
    return out


def from_bibtex(text: str, base: Path) -> list[BibEntry]:
    import bibtexparser
    from bibtexparser import middlewares as m
    from pylatexenc.latex2text import LatexNodes2Text

    decode = LatexNodes2Text().latex_to_text
    library = bibtexparser.parse_string(
        text, append_middleware=[m.SeparateCoAuthors(), m.SplitNameParts(), m.MergeNameParts(style="first")])
    entries = []
    for item in library.entries:
        fields = {k.lower(): v.value for k, v in item.fields_dict.items()}
        for name in _BIB_TEXT_FIELDS:
            if isinstance(fields.get(name), str):
                fields[name] = " ".join(decode(fields[name]).split())
        authors = [" ".join(decode(a).split()) for a in fields.get("author") or []] if isinstance(
            fields.get("author"), list) else []
        doi = normalise_doi(fields.get("doi"))
        arxiv = arxiv_from(fields.get("url"), fields.get("journal"), fields.get("note"), fields.get("howpublished"),
                       eprint=fields.get("eprint") if "arxiv" in str(fields.get("archiveprefix", "arxiv")).lower() else None,
                       doi=doi)
        entries.append(BibEntry(
            title=fields.get("title") or "", authors=authors, year=year_from(fields.get("year") or fields.get("date")),
            doi=doi, arxiv_id=arxiv, abstract=fields.get("abstract") or "", url=fields.get("url"),
            venue=fields.get("journal") or fields.get("booktitle"), entry_type=item.entry_type.lower(),
            key=item.key, files=parse_file_field(fields.get("file") or "", base),
            tags=[t.strip() for t in re.split(r"[,;]", fields.get("keywords") or "") if t.strip()],
        ))
    return entries


def from_ris(text: str, base: Path) -> list[BibEntry]:
    import rispy

    entries = []
    for item in rispy.loads(text):
        urls = item.get("urls") or []
        files = [item[k] for k in ("file_attachments1", "file_attachments2") if item.get(k)]
        doi = normalise_doi(item.get("doi"))
        entries.append(BibEntry(
            title=item.get("title") or item.get("primary_title") or "",
            authors=list(item.get("authors") or item.get("first_authors") or []),
            year=year_from(item.get("year") or item.get("publication_year") or item.get("date")),
            doi=doi, arxiv_id=arxiv_from(*urls, item.get("notes") and str(item.get("notes")), doi=doi),
            abstract=item.get("abstract") or item.get("notes_abstract") or "",
            url=urls[0] if urls else None,
            venue=item.get("secondary_title") or item.get("journal_name"),
            entry_type=_RIS_TYPES.get(item.get("type_of_reference", "GEN"), "misc"),
            key=item.get("id"), files=[_path(f, base) for value in files for f in str(value).split(";") if f.strip()],
            tags=list(item.get("keywords") or []),
        ))
    return entries


def from_csl_json(text: str, base: Path) -> list[BibEntry]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ScholarGraphError(f"not valid CSL-JSON ({exc})") from exc
    items = data.get("items", []) if isinstance(data, dict) else data
    entries = []
    for item in items:
        authors = []
        for name in item.get("author") or []:
            full = name.get("literal") or " ".join(p for p in (name.get("given"), name.get("non-dropping-particle"),
                                                                name.get("family")) if p)
            if full:
                authors.append(full)
        parts = ((item.get("issued") or {}).get("date-parts") or [[None]])[0]
        doi = normalise_doi(item.get("DOI"))
        files = item.get("file") or []
        entries.append(BibEntry(
            title=item.get("title") or "", authors=authors,
            year=year_from(parts[0] if parts else None) or year_from((item.get("issued") or {}).get("raw")),
            doi=doi, arxiv_id=arxiv_from(item.get("URL"), item.get("note"), item.get("number"), doi=doi),
            abstract=item.get("abstract") or "", url=item.get("URL"), venue=item.get("container-title"),
            entry_type=_CSL_TYPES.get(item.get("type", "article"), "misc"), key=str(item["id"]) if item.get("id") else None,
            files=[_path(f, base) for f in ([files] if isinstance(files, str) else files)],
            tags=[t.strip() for t in str(item.get("keyword") or "").split(",") if t.strip()],
        ))
    return entries
