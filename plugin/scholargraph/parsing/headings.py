"""Which extracted elements are section headings.

unstructured's 'Title' is a guess from text shape: in PDFs it tags table cells, author
lines and whole Chinese paragraphs as Title, and tags "2 Constructing the corpus" as
narrative. So in PDFs (and plain text) a heading must *read* like one: a known section name
("Introduction", "摘要"), or a numbered title ("2.1 Related Work", "1 引言") whose number
follows the previous heading's. In docx/html/md the markup is trusted: Title is a heading
unless it is really a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scholargraph.parsing.text import CJK, letters_ratio

MAX_HEADING_CHARS = 120
MAX_HEADING_WORDS = 14

KNOWN_SECTIONS = {
    "abstract", "introduction", "background", "related work", "related works", "prior work",
    "previous work", "method", "methods", "methodology", "approach", "model", "models",
    "experiments", "experiment", "experimental setup", "experimental results", "setup",
    "results", "evaluation", "analysis", "discussion", "results and discussion",
    "conclusion", "conclusions", "conclusion and future work", "conclusions and future work",
    "future work", "limitations", "ethics statement", "ethical considerations", "broader impact",
    "broader impacts", "acknowledgments", "acknowledgements", "acknowledgment", "acknowledgement",
    "preliminaries", "overview", "summary", "data", "dataset", "datasets", "case study",
    "keywords", "index terms", "references", "bibliography", "appendix", "appendices",
    "supplementary material", "supplementary materials",
    "摘要", "引言", "前言", "绪论", "相关工作", "方法", "实验", "实验结果", "结果", "讨论", "结论",
    "总结", "致谢", "参考文献", "附录", "关键词",
}
# Generic names that are table headers as often as headings: in PDFs they count only numbered.
WEAK_NAMES = {
    "data", "dataset", "datasets", "model", "models", "method", "methods", "summary", "overview",
    "results", "analysis", "setup", "approach", "evaluation", "experiment", "experiments",
    "discussion", "background", "keywords", "index terms",
}
REFERENCE_NAMES = {"references", "reference", "bibliography", "literature cited", "works cited", "参考文献"}
ABSTRACT_NAMES = {"abstract", "摘要"}
FUNCTION_WORDS = {
    "a", "an", "the", "of", "and", "or", "for", "in", "on", "with", "to", "via", "vs", "vs.",
    "from", "by", "at", "as", "into", "over", "under", "between", "without", "against", "is", "are",
}

_NUMBER = (
    r"(?P<num>\d{1,2}(?:\.\d{1,2}){0,3}\.?"  # 1  1.  2.1  2.1.3
    r"|[A-H](?:\.\d{1,2}){0,3}"  # A  A.1  (appendix)
    r"|[IVX]{1,5}\."  # II.
    r"|[一二三四五六七八九十]{1,3}、"  # 一、
    r"|第[一二三四五六七八九十\d]{1,3}[章节])"  # 第一章
)
NUMBERED = re.compile(rf"^{_NUMBER}\s*(?P<rest>[A-Z{CJK}\[].*)$")
_RUN_IN_NAME = re.compile(
    r"^(?P<name>ABSTRACT|REFERENCES|BIBLIOGRAPHY|ACKNOWLEDGE?MENTS?|Abstract|References|Acknowledge?ments?|摘要)"
    rf"(?:\s*[.:：—–-]\s*|\s+)(?P<rest>[A-Z\[\d“\"{CJK}].{{20,}})$"
)


def normalise_heading(text: str) -> str:
    """'2.1 Related Work:' -> 'related work' (number, trailing punctuation and case dropped)."""
    match = NUMBERED.match(text.strip())
    core = match.group("rest") if match and _numbered_ok(text.strip(), match) else text
    return " ".join(core.strip().rstrip(".:：").split()).casefold()


def _numbered_ok(text: str, match: re.Match) -> bool:
    """Latin numbers need a space before the title ("1 Intro", not "CHI"); CJK ones do not ("一、引言")."""
    if match.group("num")[0] in "一二三四五六七八九十第":
        return True
    return match.start("rest") > match.end("num")


def is_known_section(text: str) -> bool:
    """A standard section name, numbered or not ("Abstract", "7 Conclusion", "参考文献")."""
    return normalise_heading(text) in KNOWN_SECTIONS


def is_references_heading(text: str) -> bool:
    """'References', 'REFERENCES', '7 References', 'Bibliography', '参考文献'."""
    return normalise_heading(text) in REFERENCE_NAMES


def is_abstract_heading(text: str) -> bool:
    return normalise_heading(text) in ABSTRACT_NAMES


def _is_sentence(text: str) -> bool:
    return text.rstrip().endswith(tuple(".!?;,。！？；，")) and not text.rstrip().endswith("..")


def _word_count(text: str) -> int:
    return len(re.findall(rf"[{CJK}]", text)) // 2 + len(re.findall(rf"[^\s{CJK}]+", text))


def numbered_title(text: str) -> tuple[str, str] | None:
    """(number, title) when ``text`` is shaped like a numbered heading, else None."""
    text = text.strip()
    match = NUMBERED.match(text)
    if not match or not _numbered_ok(text, match):
        return None
    rest = match.group("rest").strip()
    if len(text) > MAX_HEADING_CHARS or _word_count(rest) > MAX_HEADING_WORDS or _is_sentence(rest):
        return None
    if any(mark in rest for mark in ("@", "http", "=", "et al")) or letters_ratio(rest) < 0.6:
        return None
    tokens = rest.split()
    if sum(token.replace(".", "").isdigit() for token in tokens) > 0.3 * len(tokens):
        return None
    return match.group("num").rstrip("."), rest


def looks_like_heading_line(line: str) -> bool:
    """A stand-alone line that reads as a heading (used when rebuilding paragraphs from lines)."""
    line = line.strip()
    if len(line) > 80:
        return False
    if is_known_section(line):
        return True
    parsed = numbered_title(line)
    return parsed is not None and parsed[0][0].isdigit() and int(parsed[0].split(".")[0]) <= 20


def split_run_in_heading(text: str) -> tuple[str, str] | None:
    """(heading, body) when an element starts with a heading run into its first paragraph.

    ACM layouts give "1 INTRODUCTION Science builds on ..." and "REFERENCES [1] ..." as one
    element. The heading is the run of capitalised words after the number, minus the last
    capitalised word, which starts the sentence ("2.2 Paper Recommendation and Exploration
    Besides improving ..." -> "2.2 Paper Recommendation and Exploration").
    """
    text = text.strip()
    named = _RUN_IN_NAME.match(text)
    if named:
        return named.group("name"), named.group("rest").strip()
    match = NUMBERED.match(text)
    if not match or not _numbered_ok(text, match) or len(text) < 60 or "@" in text[:200]:
        return None
    words = match.group("rest").split()
    run: list[str] = []
    stop = None
    for word in words:
        if word[0].isupper() or word[0] == "[" or word.lower() in FUNCTION_WORDS:
            run.append(word)
            if word.endswith((".", ":", ",")) and word.lower() not in FUNCTION_WORDS:
                break
            continue
        stop = word
        break
    if stop is None or not stop[0].isalpha() or not stop[0].islower():
        return None
    starts = [i for i, word in enumerate(run) if word[0].isupper()]
    if len(starts) < 2:
        return None
    heading_words = run[: starts[-1]]
    while heading_words and heading_words[-1].lower() in FUNCTION_WORDS:
        heading_words.pop()
    if not heading_words or len(heading_words) > 10 or any(w.endswith((".", ",", ":")) for w in heading_words):
        return None
    heading = f"{match.group('num')} {' '.join(heading_words)}"
    body = text[len(heading):].strip() if text.startswith(heading) else " ".join(words[len(heading_words):])
    if len(body) < 30:
        return None
    return heading, body


@dataclass
class HeadingRules:
    """Decides heading-ness element by element; remembers section numbers seen so far.

    ``trust_markup``: docx/html/md, where 'Title' comes from real heading markup.
    """

    trust_markup: bool = False
    last_top: int = 0
    after_references: bool = False

    def is_heading(self, kind: str, text: str, page: int | None = None) -> bool:
        """Whether this element opens a new section (and update the numbering state)."""
        text = text.strip()
        if not text or len(text) > MAX_HEADING_CHARS or kind in ("Table", "FigureCaption", "Formula", "Footnote"):
            return False
        if is_known_section(text):
            name = normalise_heading(text)
            if not self.trust_markup:
                if name in WEAK_NAMES and not numbered_title(text):
                    return False
                if name in ABSTRACT_NAMES and page is not None and page > 2:
                    return False
            self._note_number(text)
            return True
        if self.trust_markup:
            return kind == "Title" and not _is_sentence(text) and letters_ratio(text) >= 0.5
        if kind == "ListItem":
            return False
        parsed = numbered_title(text)
        if parsed is None:
            return False
        number, _ = parsed
        if number[0].isdigit():
            top = int(number.split(".")[0])
            if not self.last_top <= top <= self.last_top + 2:
                return False
            self.last_top = top
            return True
        if number[0] in "ABCDEFGH":
            appendix_word = re.search(r"appendix|supplement", text, re.IGNORECASE)
            return kind == "Title" and (self.after_references or bool(appendix_word)) and "," not in text
        return kind == "Title" or number[0] in "一二三四五六七八九十第"

    def _note_number(self, text: str) -> None:
        parsed = NUMBERED.match(text)
        if parsed and parsed.group("num")[0].isdigit():
            self.last_top = max(self.last_top, int(parsed.group("num").rstrip(".").split(".")[0]))
