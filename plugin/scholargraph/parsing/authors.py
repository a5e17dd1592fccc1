"""Author names from the untagged lines between a paper's title and its abstract.

Those lines mix names with superscript markers, affiliations, e-mail addresses and cities
("Kyle Lo†∗ Lucy Lu Wang†∗ ... †Allen Institute for AI {kylel, lucyw}@allenai.org"). We cut
at every separator a layout uses and keep the fragments that are shaped like names. ACM
papers also print a clean list ("ACM Reference Format: A, B, and C. 2023. Title ..."),
which wins when present.
"""

from __future__ import annotations

import re

from scholargraph.parsing.text import CJK

MAX_AUTHORS = 60

_EMAIL = re.compile(r"\{[^}]*\}\s*@\s*\S+|\S+@\S+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_SEPARATORS = re.compile(
    r"[,;，、†‡§¶∗*♠♢♡♣♦□⋄◦•·∙♮♯★☆✉⁎#|()\[\]{}]|\band\b|&|\d+|[\u00b9\u00b2\u00b3\u2070-\u2079]+|\s{2,}"
    r"|(?<=[a-z])[α-ωΑ-Ω]+|(?<=\s)[α-ωΑ-Ω]+"  # Greek-letter affiliation marks: "Kyle Loα∗"
)
_AFFILIATION = re.compile(
    r"\b(universit\w*|institut\w*|school|college|department|dept|faculty|lab|labs|laborator\w*|inc|corp\w*|"
    r"research|center|centre|google|microsoft|facebook|meta|amazon|ibm|nvidia|foundation|academy|hospital|"
    r"technolog\w*|sciences?|engineering|computer|computing|group|company|ltd|gmbh|usa|china|germany|france|"
    r"japan|korea|canada|india|uk|ai|nlp|abstract|introduction|keywords|email|equal|contribution|work|"
    r"done|during|internship|corresponding|author|authors|preprint|review|proceedings|conference)\b",
    re.IGNORECASE,
)
_CJK_AFFILIATION = re.compile("大学|学院|研究|中心|公司|实验室|系|所|部|摘要|关键词")
# Country and state codes that ACM journal layouts print right before the next ALL-CAPS name.
_PLACE_CODES = {
    "USA", "US", "UK", "CA", "WA", "NY", "PA", "MA", "CHINA", "CANADA", "GERMANY", "FRANCE", "JAPAN",
    "KOREA", "INDIA", "ISRAEL", "SINGAPORE", "AUSTRALIA",
}
_PARTICLES = {"van", "de", "der", "den", "von", "da", "di", "du", "le", "la", "del", "dos", "das", "y", "bin", "al"}
_NAME_TOKEN = re.compile(r"[A-Z][a-zA-Z'’\-]*\.?|[A-Z]\.(?:-?[A-Z]\.)*|[A-ZÀ-Þ][\wÀ-ÿ'’\-]*")
_CJK_NAME = re.compile(rf"[{CJK}]{{2,4}}")
_ACM_FORMAT = re.compile(r"ACM Reference Format:\s*(?P<names>.+?)\.\s+(?:19|20)\d\d\.", re.DOTALL)


def authors_from_acm_format(text: str) -> list[str]:
    """Names from an ACM 'Reference Format' line, which lists them cleanly."""
    match = _ACM_FORMAT.search(text)
    if not match:
        return []
    names = re.split(r",\s*(?:and\s+)?|\s+and\s+", match.group("names"))
    return _dedupe([n.strip() for n in names if looks_like_name(n.strip())])


def authors_from_lines(lines: list[str]) -> list[str]:
    """Name-shaped fragments of the author block, in order, without duplicates."""
    names: list[str] = []
    for line in lines:
        line = _URL.sub(" ", _EMAIL.sub(" ", line))
        for fragment in _SEPARATORS.split(line):
            fragment = " ".join(fragment.split()).strip(" .:-")
            if not fragment:
                continue
            if re.search(f"[{CJK}]", fragment):
                tokens = fragment.split()  # a CJK name line is nothing but short names: "张明 李华 王芳"
                if len(tokens) <= 12 and all(_CJK_NAME.fullmatch(t) and not _CJK_AFFILIATION.search(t) for t in tokens):
                    names.extend(tokens)
                continue
            if fragment.isupper() and len(fragment) > 3:
                words = fragment.split()
                while words and words[0] in _PLACE_CODES:
                    words.pop(0)
                fragment = " ".join(words).title()
            if looks_like_name(fragment):
                names.append(fragment)
    return _dedupe(names)[:MAX_AUTHORS]


def looks_like_name(text: str) -> bool:
    """'Daniel S. Weld', 'Madeleine van Zuylen', 'J. Smith', '张明': yes; 'Allen Institute for AI': no."""
    if not text or len(text) > 40:
        return False
    if _CJK_NAME.fullmatch(text):
        return not _CJK_AFFILIATION.search(text)
    if _AFFILIATION.search(text):
        return False
    tokens = text.split()
    if not 2 <= len(tokens) <= 5:
        return False
    real = 0
    for token in tokens:
        if token.lower() in _PARTICLES:
            continue
        if not _NAME_TOKEN.fullmatch(token):
            return False
        if len(token.rstrip(".")) >= 2 and not token.isupper():
            real += 1
    return real >= 1


def _dedupe(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            out.append(name)
    return out
