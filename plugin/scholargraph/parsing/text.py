"""Text repair and the identifier patterns every other parsing module shares.

PDF text layers carry typesetting debris: ligature glyphs ("ﬁ"), line-break hyphens that
pdfminer leaves as "litera- ture", accents printed as separate glyphs ("F¨arber") and
small capitals split into a capital plus an upper-case tail ("L ONG E VAL"). Titles are
matched across papers later, so they are repaired here, once.
"""

from __future__ import annotations

import re
import unicodedata

_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl", "\ufb05": "st", "\ufb06": "st",
     "\u00ad": ""}
)
_CID = re.compile(r"\(cid:\d+\)")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u3000]+")
# "litera- ture" -> "literature"; kept when the next word is a conjunction ("pre- and post-").
_BROKEN_WORD = re.compile(r"(?<=[a-z])- (?!(?:and|or|to|und)\b)(?=[a-z])")
_SPACING_ACCENT = {"¨": "\u0308", "´": "\u0301", "`": "\u0300", "˘": "\u0306", "ˇ": "\u030c", "˜": "\u0303", "˚": "\u030a"}
_LOOSE_ACCENT = re.compile(r"([¨´`˘ˇ˜˚])\s?([A-Za-z])")
# Small caps as extracted: "L ONG E VAL", "TABLE F ORMER", "S CI B ERT".
_SMALL_CAPS = re.compile(r"\b(?:[A-Z]{2,}|[A-Z] [A-Z]{2,})(?: [A-Z] [A-Z]{2,})+\b|\b[A-Z] [A-Z]{2,}\b")

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_CHAR = re.compile(f"[{CJK}]")
# OCR and line breaks put spaces between Chinese characters ("使 用 价值"); Chinese has none.
_CJK_LIKE = f"{CJK}\u3000-\u303f\uff00-\uffef\u2018-\u201d"
_CJK_GAP = re.compile(f"(?<=[{_CJK_LIKE}]) +(?=[{_CJK_LIKE}])")
SENTENCE_END = tuple(".!?;。！？；")

DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+)", re.IGNORECASE)
# New-style arXiv ids name a real month (YYMM); the context words keep page ranges out.
_ARXIV_ID = r"(\d{2}(?:0[1-9]|1[0-2])\.\d{4,5})(?:v\d+)?(?!\d)"
_ARXIV_OLD_ID = r"([a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv(?:\.org)?\s*(?:preprint)?\s*(?:arxiv)?\s*[:/]?\s*(?:abs/|pdf/)?|\babs/|corr\s+abs/)\s*"
    + _ARXIV_ID,
    re.IGNORECASE,
)
ARXIV_OLD_IN_TEXT = re.compile(r"(?:arxiv[:\s]*(?:\.org/abs/)?|\babs/)\s*" + _ARXIV_OLD_ID, re.IGNORECASE)
ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(\d{4}\.\d{4,5})", re.IGNORECASE)
ARXIV_FILENAME = re.compile(r"^" + _ARXIV_ID + r"(?:\.pdf)?$", re.IGNORECASE)
ARXIV_STAMP = re.compile(r"arXiv:" + _ARXIV_ID + r"\s*\[[\w.\-]+\]", re.IGNORECASE)
YEAR = re.compile(r"(?<![\d.])(19[5-9]\d|20[0-4]\d)(?![\d])")


def clean_text(text: str) -> str:
    """One-line, repaired text of an extracted element."""
    text = text.translate(_LIGATURES)
    text = _CID.sub(" ", text)
    if any(ch in text for ch in _SPACING_ACCENT):
        text = _LOOSE_ACCENT.sub(lambda m: m.group(2) + _SPACING_ACCENT[m.group(1)], text)
        text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", text.replace("\n", " ")).strip()
    if len(CJK_CHAR.findall(text)) >= 20:  # a paragraph; short lines keep spaces ("张明 李华 王芳")
        text = _CJK_GAP.sub("", text)
    return _BROKEN_WORD.sub("", text)


def dehyphenate(text: str) -> str:
    """Join words broken at a line end ("recom- mending" -> "recommending")."""
    return _BROKEN_WORD.sub("", text)


def fix_small_caps(text: str) -> str:
    """Rejoin small-capital words ("L ONG E VAL" -> "LONGEVAL") in mixed-case text only."""
    if not re.search(r"[a-z]", text):
        return text
    return _SMALL_CAPS.sub(lambda m: m.group(0).replace(" ", ""), text)


def cjk_share(text: str) -> float:
    """Fraction of non-space characters that are CJK ideographs."""
    chars = [c for c in text if not c.isspace()]
    return sum(1 for c in chars if CJK_CHAR.match(c)) / len(chars) if chars else 0.0


def strip_doi(doi: str) -> str:
    """A DOI without the sentence punctuation or unbalanced bracket extraction glued to it."""
    while doi and doi[-1] in ".,;:'\"”’":
        doi = doi[:-1]
    while doi and doi[-1] in ")]}" and doi.count(doi[-1]) > doi.count({")": "(", "]": "[", "}": "{"}[doi[-1]]):
        doi = doi[:-1]
    return doi


def find_doi(text: str) -> str | None:
    """The first DOI in the text, bare ("10.1145/3544548.3580847")."""
    match = DOI.search(text)
    return strip_doi(match.group(1)) if match else None


def find_arxiv_id(text: str) -> str | None:
    """An arXiv id named as such ("arXiv:2203.00130", "abs/2206.10883", arXiv DOI), no version."""
    for pattern in (ARXIV_DOI, ARXIV_IN_TEXT, ARXIV_OLD_IN_TEXT):
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def years_in(text: str) -> list[int]:
    """Plausible publication years (1950-2049) in order, ignoring those inside ids, DOIs and URLs."""
    text = re.sub(r"https?://\S+|www\.\S+", " ", DOI.sub(" ", text))
    text = re.sub(r"\d{4}\.\d{4,5}", " ", text)
    return [int(y) for y in YEAR.findall(text)]


def letters_ratio(text: str) -> float:
    """Share of letters (any script) among non-space characters: low for tables and formulas."""
    chars = [c for c in text if not c.isspace()]
    return sum(1 for c in chars if c.isalpha()) / len(chars) if chars else 0.0
