"""Reference lists: one Reference per entry, with title, year, DOI and arXiv id.

unstructured gives about one element per entry, but columns and pages split entries
("... Kyle Lo. 2023. Paper" | "plain: Making medical ...") and sometimes merge them
("[9] ... (2022). [10] Linda Flower ..."). Numbered lists are cut at their numbers;
author-year lists start a new entry where an element opens with an author list and the
entry before it is complete. The title is the sentence after the authors (and year), or
the quoted part of IEEE-style entries; it has to be good enough to match the cited paper
by normalised title later.
"""

from __future__ import annotations

import re

from scholargraph.models import Reference
from scholargraph.parsing.elements import Piece
from scholargraph.graph.keys import find_arxiv_id, find_doi
from scholargraph.parsing.text import CJK, dehyphenate, fix_small_caps, years_in

MAX_ENTRY_CHARS = 1500

_NUMBER_MARK = re.compile(r"^\s*(?:\[(\d{1,3})\]|(\d{1,3})\.(?=\s)|\((\d{1,3})\))\s*")
_INNER_NUMBER = re.compile(r"(?:(?<=\s)|^)(?:\[(\d{1,3})\]|(\d{1,3})\.(?=\s+[A-Z\u00c0-\u024f]))")
_NAME = r"[A-Z\u00c0-\u024f][\w'’\-\u00c0-\u024f]*\.?"
# "Kyle Lo, Lucy Lu Wang," | "Lo, K.," | "Nigel Collier and Jin-Dong Kim." | "Grobid. 2008"
_AUTHOR_START = re.compile(
    rf"^(?:{_NAME}(?:\s+(?:van|de|der|von|da|di|del|la|le)?\s*{_NAME}){{1,4}}\s*,"
    rf"|{_NAME},\s+[A-Z]\."
    rf"|{_NAME}(?:\s+{_NAME}){{1,4}}\s+(?:and|&)\s+{_NAME}"
    rf"|{_NAME}(?:\s+{_NAME}){{1,4}}\s+et al\."
    rf"|[^\s.]+(?:\s[^\s.]+){{0,3}}\.\s+\(?(?:19|20)\d\d)"
)
_YEAR_AFTER_AUTHORS = re.compile(r"(?:^|[.,]\s*|\s)\(?((?:19|20)\d\d)[a-z]?\)?[.,:]\s+")
_CONTINUATION_START = re.compile(
    r"^(?:[a-z(\d\-–:;,.]|In\s|Proceedings|Proc\.|pages|Association|Conference|Journal"
    r"|arXiv|ArXiv|URL|https?:|doi|DOI|Volume|Vol\.)"
)
_PARTICLES = {"and", "et", "al", "al.", "van", "de", "der", "den", "von", "da", "di", "du", "le", "la", "del", "dos", "y", "&"}
_VENUE_CUT = re.compile(
    r"\s(?:In|in:?)\s+(?:Proceedings|Proc\.|Findings|Advances|Annual|International|The\s+\d|\d{4}|[A-Z]{2,})"
    r"|\s(?:arXiv preprint|ArXiv|arXiv|CoRR|Preprint)\b|,\s*pages?\s+\d|\sURL\s|\shttps?://|\s\((?:19|20)\d\d\)"
)
_QUOTED = re.compile(r"[“\"]([^”\"]{12,}?)[,.]?[”\"]")
_GBT_TYPE = re.compile(r"\[[A-Z](?:/[A-Z]+)?\]")
_INITIAL_END = re.compile(r"(?:\b[A-Z]|\bet al|\bJr|\bSr|\bvs|\bSt|\bDr|\bProf|\be\.g|\bi\.e)\.$")


def split_entries(pieces: list[Piece]) -> list[str]:
    """Reference entries from the elements (or the lines, kind 'Line') of a reference section."""
    lines = bool(pieces) and all(p.kind == "Line" for p in pieces)
    fragments = [frag for piece in pieces for frag in _split_numbered(piece.text)]
    fragments = [f for f in fragments if f and not re.fullmatch(r"[\d\s.]+", f)]
    if not fragments:
        return []
    numbered = _numbered_style(fragments)
    entries: list[str] = []
    for fragment in fragments:
        if not entries or _starts_entry(fragment, entries[-1], numbered, lines):
            entries.append(fragment)
        else:
            entries[-1] = f"{entries[-1]} {fragment}"
    return [dehyphenate(" ".join(e.split())) for e in entries if len(e.strip()) >= 10]


def _split_numbered(text: str) -> list[str]:
    """Cut an element holding several numbered entries ("... (2022). [10] Linda ...") at n+1."""
    marks = [m for m in _INNER_NUMBER.finditer(text)]
    if len(marks) < 2 and not (marks and marks[0].start() > 0):
        return [text.strip()]
    cuts: list[int] = []
    expected = None
    for mark in marks:
        number = int(mark.group(1) or mark.group(2))
        if mark.start() == 0:
            expected = number + 1
            continue
        if expected is None:
            lead = _NUMBER_MARK.match(text)
            expected = None if lead is None else int(next(g for g in lead.groups() if g)) + 1
        if expected is not None and number == expected:
            cuts.append(mark.start())
            expected = number + 1
    if not cuts:
        return [text.strip()]
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]


def _numbered_style(fragments: list[str]) -> bool:
    """A numbered list: fragments opening with [1], [2], ... (or 1. 2. ...) mostly in sequence."""
    numbers = [int(next(g for g in m.groups() if g)) for f in fragments if (m := _NUMBER_MARK.match(f))]
    if len(numbers) < 2 or numbers[0] > 2:
        return False
    return sum(b == a + 1 for a, b in zip(numbers, numbers[1:])) >= 0.8 * (len(numbers) - 1)


def _complete(entry: str) -> bool:
    """An entry that could end here: it has a year and ends like a citation does."""
    return bool(years_in(entry)) and entry.rstrip().endswith((".", ")", "]")) and len(entry) > 40


def _starts_entry(fragment: str, previous: str, numbered: bool, lines: bool = False) -> bool:
    """Whether ``fragment`` opens a new entry; lines need a complete entry before them."""
    if numbered:
        return bool(_NUMBER_MARK.match(fragment))
    if len(previous) > MAX_ENTRY_CHARS:
        return True
    if _CONTINUATION_START.match(fragment):
        return False
    strong = _AUTHOR_START.match(fragment)
    if lines:
        return bool(strong) and _complete(previous)
    if strong and (_complete(previous) or fragment.count(",") >= 3):
        return True
    return bool(strong) and not previous.rstrip().endswith((",", "and", "-", "–"))


def parse_entry(raw: str) -> Reference:
    """One entry's raw text, DOI, arXiv id, year and title."""
    body = _NUMBER_MARK.sub("", raw, count=1).strip()
    year, title = _title_and_year(body)
    years = years_in(body)
    return Reference(
        raw=raw,
        doi=find_doi(body),
        arxiv_id=find_arxiv_id(body),
        title=title,
        year=year or (years[-1] if years else None),
    )


def _title_and_year(body: str) -> tuple[int | None, str | None]:
    """(year printed after the authors, title) by the first citation style that fits."""
    quoted = _QUOTED.search(body)
    if quoted and quoted.start() < 0.6 * len(body) and len(quoted.group(1).split()) >= 3:
        return None, _tidy(quoted.group(1))
    if re.search(f"[{CJK}]", body):
        return None, _cjk_title(body)
    for match in _YEAR_AFTER_AUTHORS.finditer(body):
        authors = body[: match.start()].strip()
        rest = body[match.end():]
        organisation = len(authors) <= 40 and len(authors.split()) <= 5  # "OGC of Harvard. 2016."
        if (_is_author_list(authors) or organisation) and len(rest.split()) >= 1:
            title = _first_sentence(rest)
            if title:
                return int(match.group(1)), title
        break
    authors_end = _authors_end(body)
    if authors_end is not None:
        return None, _first_sentence(body[authors_end:])
    return None, None


def _is_author_list(text: str) -> bool:
    """Names, initials, commas and particles only ("Kyle Lo, Lucy Lu Wang, and Daniel Weld")."""
    if not text or len(text) > 4000:
        return False
    lower = [w for w in re.findall(r"[^\s,.;]+", text) if w[0].islower() and w.lower() not in _PARTICLES]
    return not lower or (len(lower) == 1 and ":" not in text and text.count(",") >= 2)


def _authors_end(body: str) -> int | None:
    """Where the title starts when no year follows the authors ("A, B, and C. Title. Venue")."""
    for match in re.finditer(r"(?<=\.)\s+|(?<=[A-Z]\.):\s+|(?<=\w):\s+(?=[A-Z])", body):
        head = body[: match.start()].rstrip()
        colon = body[match.start()] == ":"
        if not colon and _INITIAL_END.search(head) and not head.endswith(("et al.",)):
            continue
        if _is_author_list(head.rstrip(".:")):
            return match.end()
        return None
    return None


def _first_sentence(text: str) -> str | None:
    """The title: text up to the sentence end that precedes the venue ("In Proceedings ...")."""
    text = text.strip()
    venue = _VENUE_CUT.search(text)
    limit = venue.start() if venue else len(text)
    for match in re.finditer(r"\.(?=\s+|$)", text[:limit + 1]):
        head = text[: match.start() + 1]
        if _INITIAL_END.search(head) and not re.search(r"\b[A-Z]{2,}\.$", head):
            continue
        limit = min(limit, match.start())
        break
    return _tidy(text[:limit])


def _cjk_title(body: str) -> str | None:
    """GB/T 7714 style: '王小明, 陈静. 标题[J]. 期刊, 2021' / 'Wadden 等. 2020. 标题.'"""
    parts = [p.strip() for p in re.split(r"[.．。]\s*", body) if p.strip()]
    for part in parts[1:]:
        if re.fullmatch(r"\(?(?:19|20)\d\d[a-z]?\)?", part):
            continue
        return _tidy(_GBT_TYPE.sub("", part))
    return None


def _tidy(title: str | None) -> str | None:
    if not title:
        return None
    title = fix_small_caps(" ".join(title.split())).strip(" .,;:")
    title = re.sub(r"^In [A-Z]\w*- ", "", title)  # "In Ad- Language models ..." (columns interleaved)
    title = re.sub(r"(?<=[a-z][A-Z])- (?=[A-Z])|(?<=[a-z])- (?=[A-Z]{2,})", "", title)  # "SciB- ERT", "Sci- BERT"
    title = re.sub(r"(?<=\w)- (?=\w)", "-", title)  # "Real- World" broken at a line end
    title = re.sub(r"[\s,.]*\(?(?:19|20)\d\d[a-z]?\)?$", "", title)
    title = re.sub(r"\s*-$", "", title).strip(" .,;:")
    if len(title) < 2 or re.fullmatch(r"[\d\s\W]+", title):
        return None
    return title


def parse_references(pieces: list[Piece]) -> list[Reference]:
    """References of a reference section, in order."""
    return [parse_entry(entry) for entry in split_entries(pieces)]
