"""Identifiers and match keys: the one home of DOI / arXiv-id patterns and title normalisers.

A reference list is extracted text: DOIs come as URLs, arXiv ids carry versions, and titles
carry line-break hyphens ("Sum- marization"), ligatures, odd dashes and trailing periods.
Everything here maps those variants onto one key so that equality means "same work".
Two strictnesses, named apart: ``find_doi`` / ``find_arxiv_id`` look for an identifier in
running text (a page, a reference, a note field: only ids named as such, never any
digits-dot-digits), while ``normalise_doi`` / ``normalise_arxiv_id`` check and canonicalise
a field that is meant to hold one.
Fuzzy title matching is deliberately narrow: short titles must match exactly, because
"Deep Learning" and "Deep Learnings" are different papers far more often than not.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

from rapidfuzz import fuzz

# A title shorter than this (words or characters) is too generic to match fuzzily.
SHORT_TITLE_WORDS = 4
SHORT_TITLE_CHARS = 20
# Blocking keys: letters kept from each end of a title for the indexed candidate search.
BLOCK_CHARS = 12
# A match found only by dropping a subtitle scores a little below a full match, so a full
# match wins whenever both exist.
SUBTITLE_DISCOUNT = 0.98

_DOI_PREFIX = re.compile(r"^(?:https?://)?(?:dx\.)?doi\.org/|^doi:\s*", re.IGNORECASE)
_DOI_TRAILING = ".,;:'\"\u201d\u2019"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
_CJK_CHAR = re.compile(f"[{_CJK}]")
_TITLE_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_ARXIV_NEW = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
_ARXIV_OLD = re.compile(r"([a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$")
# Finders for running text. New-style arXiv ids name a real month (YYMM); the context words
# ("arXiv:", "abs/") keep page ranges and DOI tails out.
DOI_IN_TEXT = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
_ARXIV_ID = r"(\d{2}(?:0[1-9]|1[0-2])\.\d{4,5})(?:v\d+)?(?!\d)"
_ARXIV_OLD_ID = r"([a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv(?:\.org)?\s*(?:preprint)?\s*(?:arxiv)?\s*[:/]?\s*(?:abs/|pdf/)?|\babs/|corr\s+abs/)\s*"
    + _ARXIV_ID,
    re.IGNORECASE,
)
_ARXIV_OLD_IN_TEXT = re.compile(r"(?:arxiv[:\s]*(?:\.org/(?:abs|pdf)/)?|\babs/)\s*" + _ARXIV_OLD_ID, re.IGNORECASE)
_ARXIV_DOI_IN_TEXT = re.compile(r"10\.48550/arxiv\.(\d{4}\.\d{4,5})", re.IGNORECASE)
ARXIV_FILENAME = re.compile(r"^" + _ARXIV_ID + r"(?:\.pdf)?$", re.IGNORECASE)
ARXIV_STAMP = re.compile(r"arXiv:" + _ARXIV_ID + r"\s*\[[\w.\-]+\]", re.IGNORECASE)
# Looser, where the text around is known to be an arXiv stamp (the margin stamp read back to
# front, with no category to anchor it): "arXiv:" and any new-style id, version dropped.
ARXIV_LABELLED_ID = re.compile(r"arXiv:(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE)
# The bare shape of a new-style id, to blank ids out of text (their digits look like years).
ARXIV_ID_SHAPE = re.compile(r"\d{4}\.\d{4,5}")
_NEW_STYLE_ID = re.compile(r"\d{4}\.")
_NOT_ASCII_WORD = re.compile(r"[^a-z0-9]")
_COMPACT = re.compile(r"[\W_]+")
_DASHES = "\u002d\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH = re.compile(f"[{_DASHES}]")
_WORD_HYPHEN = re.compile(r"(?<=\w)-\s*(?=\w)")  # "Sum-marization", "Sum- marization"
_NON_WORD = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
_SUBTITLE = re.compile(rf"\s*:\s+|\s+[{_DASHES}]{{1,2}}\s+")
_AUTHOR_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


def strip_accents(text: str) -> str:
    """NFKD splits ligatures (the PDF 'ﬁ') and accents; the accents are then dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalise_doi(doi: str | None) -> str | None:
    """Lower-case bare DOI ('10.x/y'), without URL or 'doi:' prefix; None if it is not one."""
    if not doi:
        return None
    text = unquote(doi.strip())
    text = _strip_unbalanced(_DOI_PREFIX.sub("", text).strip()).lower()
    if not text.startswith("10.") or "/" not in text or any(c.isspace() for c in text):
        return None
    return text


def find_doi(text: str) -> str | None:
    """The first DOI in running text, bare ("10.1145/3544548.3580847"), case kept."""
    match = DOI_IN_TEXT.search(text)
    return _strip_unbalanced(match.group(1)) if match else None


def find_arxiv_id(text: str) -> str | None:
    """An arXiv id named as such in running text ("arXiv:2203.00130", "abs/2206.10883", an
    arXiv DOI), without version; None for bare digits-dot-digits, which DOIs are full of."""
    for pattern in (_ARXIV_DOI_IN_TEXT, _ARXIV_IN_TEXT, _ARXIV_OLD_IN_TEXT):
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def _strip_unbalanced(text: str) -> str:
    """Drop sentence punctuation after a DOI; a closing bracket only when it has no opener."""
    while text:
        last = text[-1]
        if last in _DOI_TRAILING:
            text = text[:-1]
        elif last in ")]}>" and text.count(last) > text.count("([{<"[")]}>".index(last)]):
            text = text[:-1]
        else:
            break
    return text


def normalise_arxiv_id(arxiv_id: str | None) -> str | None:
    """Bare arXiv id, lower case, no 'arXiv:' prefix, URL or version ('1706.03762v5' -> '1706.03762')."""
    if not arxiv_id:
        return None
    text = arxiv_id.strip()
    doi = normalise_doi(text)
    if doi:
        return arxiv_id_from_doi(doi)
    for pattern in (_ARXIV_NEW, _ARXIV_OLD):
        found = pattern.search(text)
        if found:
            return found.group(1).lower()
    return None


def arxiv_year(arxiv_id: str | None) -> int | None:
    """The year a new-style arXiv id ('2203.00130': March 2022) was submitted; None for old-style ids."""
    if arxiv_id and _NEW_STYLE_ID.match(arxiv_id):
        return 2000 + int(arxiv_id[:2])
    return None


def arxiv_id_from_doi(doi: str | None) -> str | None:
    """arXiv's own DOIs (10.48550/arXiv.NNNN) name the arXiv id, so both keys can match."""
    normal = normalise_doi(doi)
    found = _ARXIV_DOI.match(normal) if normal else None
    if not found:
        return None
    return normalise_arxiv_id(found.group(1))


def normalise_title(title: str | None) -> str | None:
    """Casefolded title without accents, punctuation or hyphens; None when nothing is left.

    Hyphens inside words are removed (not turned into spaces) so that a line-break
    hyphenation "Sum-marization" and "Summarization" give the same key.
    """
    if not title:
        return None
    text = strip_accents(title).replace("\u00ad", "").casefold()
    text = _DASH.sub("-", text)
    text = _WORD_HYPHEN.sub("", text)
    text = _NON_WORD.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    return text or None


def compact(text: str) -> str:
    """Lower-case letters and digits only: how a title is found again in page text, where
    line breaks, hyphenation and spacing differ from the metadata."""
    return _COMPACT.sub("", text.casefold())


def ascii_word(text: str) -> str:
    """Lower-case ASCII letters and digits only, accents folded ('Müller' -> 'muller'): a word
    of a citation key, which BibTeX tools read in ASCII."""
    return _NOT_ASCII_WORD.sub("", strip_accents(text).lower())


def main_title(title: str | None) -> str | None:
    """The normalised title before its subtitle ("X: Y", "X - Y"), or None when it has none."""
    if not title:
        return None
    parts = _SUBTITLE.split(title.strip(), maxsplit=1)
    if len(parts) < 2 or not parts[1].strip():
        return None
    main = normalise_title(parts[0])
    return main if main and main != normalise_title(title) else None


def title_blocks(norm_title: str | None) -> tuple[str | None, str | None]:
    """Blocking keys of a normalised title: its first and last BLOCK_CHARS letters, spaces dropped.

    Fuzzy matching every title against every other grows with the library; instead only
    titles sharing a head or a tail are compared. Near-identical titles share at least one:
    extraction noise sits at one end (a dropped subtitle, a leading article, a trailing
    venue) or in the middle (a typo, a lost hyphenation space), rarely at both ends.
    """
    if not norm_title:
        return None, None
    compact = norm_title.replace(" ", "")
    return compact[:BLOCK_CHARS], compact[-BLOCK_CHARS:]


def normalise_author(name: str | None) -> str | None:
    """Casefolded full name without accents or punctuation; 'Lo, Kyle' becomes 'kyle lo'.

    Initials are kept as written: merging "K. Lo" into "Kyle Lo" would also merge every other
    K. Lo, and a wrong shared-author edge is worse than a missing one.
    """
    if not name:
        return None
    text = strip_accents(name).casefold()
    if text.count(",") == 1:
        last, first = (part.strip() for part in text.split(","))
        if first and first.strip(". ") not in _AUTHOR_SUFFIXES:
            text = f"{first} {last}"
    text = _NON_WORD.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    return text or None


def is_short_title(norm_title: str) -> bool:
    """Too short or too few words to be distinctive: only exact equality may match it.

    A CJK character counts as a word and as two characters, as Chinese titles have no
    spaces and carry more per character.
    """
    tokens = _TITLE_TOKEN.findall(norm_title)
    cjk = len(_CJK_CHAR.findall(norm_title))
    return len(norm_title) + cjk < SHORT_TITLE_CHARS or len(tokens) < SHORT_TITLE_WORDS


def title_similarity(a: str | None, b: str | None) -> float:
    """Similarity in [0, 1] of two normalised titles (rapidfuzz ratio); short titles: 1 or 0."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if is_short_title(a) or is_short_title(b):
        return 0.0
    return fuzz.ratio(a, b) / 100.0


def title_match_score(
    norm_a: str | None, main_a: str | None, norm_b: str | None, main_b: str | None
) -> float:
    """Best similarity of two titles, also comparing one title with the other's main title.

    The subtitle route only applies when one side has no subtitle at all (a parser that
    dropped it) and the main title is itself distinctive, so "Deep Learning: A Review"
    never matches "Deep Learning".
    """
    best = title_similarity(norm_a, norm_b)
    if main_a is None and main_b and not is_short_title(main_b):
        best = max(best, SUBTITLE_DISCOUNT * title_similarity(norm_a, main_b))
    if main_b is None and main_a and not is_short_title(main_a):
        best = max(best, SUBTITLE_DISCOUNT * title_similarity(main_a, norm_b))
    return best
