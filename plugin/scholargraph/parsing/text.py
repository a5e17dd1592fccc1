"""Text repair and the identifier patterns every other parsing module shares.

PDF text layers carry typesetting debris: ligature glyphs ("ﬁ"), line-break hyphens that
pdfminer leaves as "litera- ture", accents printed as separate glyphs ("F¨arber") and
small capitals split into a capital plus an upper-case tail ("L ONG E VAL"). Titles are
matched across papers later, so they are repaired here, once.
"""

from __future__ import annotations

import re
import unicodedata

from scholargraph.graph.keys import ARXIV_ID_SHAPE, DOI_IN_TEXT

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


def years_in(text: str) -> list[int]:
    """Plausible publication years (1950-2049) in order, ignoring those inside ids, DOIs and URLs."""
    text = re.sub(r"https?://\S+|www\.\S+", " ", DOI_IN_TEXT.sub(" ", text))
    text = ARXIV_ID_SHAPE.sub(" ", text)
    return [int(y) for y in YEAR.findall(text)]


def letters_ratio(text: str) -> float:
    """Share of letters (any script) among non-space characters: low for tables and formulas."""
    chars = [c for c in text if not c.isspace()]
    return sum(1 for c in chars if c.isalpha()) / len(chars) if chars else 0.0
