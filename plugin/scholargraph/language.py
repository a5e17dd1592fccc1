"""Which language a text is in, right on two-word questions as on whole papers.

Scripts decide first (kana, hangul, Han: certain and free). Latin and Cyrillic text goes to
``lingua`` (n-gram models made for short text, shipped in its package), restricted to the
languages the models and prompts support. On a question of a few words the n-grams alone
still mistake "citation context" for French, so short text also gets a word-level model:
each word's frequency in each language (``wordfreq``), multiplied in as a unigram model.
Names and acronyms (PaperMage, S2ORC, BM25) are no evidence and are left out.

Below a confidence floor the answer is a *fallback* the caller knows better: the
conversation's earlier turns, the user's interface language, the library's main language;
with none of those, ``"und"``, never a guess like Somali for "layout toolkit".
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

# The languages an answer can be asked for by name (the prompt says "Answer in German").
LANGUAGE_NAMES = {"en": "English", "zh": "Chinese (简体中文)", "de": "German", "fr": "French", "es": "Spanish",
                  "it": "Italian", "pt": "Portuguese", "nl": "Dutch", "ru": "Russian", "ja": "Japanese",
                  "ko": "Korean"}

# Languages a text may be detected as: those the embedding models and answer prompts handle
# (USE-multilingual's 16 include all of these; ``LANGUAGE_NAMES`` above names each).
SUPPORTED: tuple[str, ...] = ("en", "zh", "de", "fr", "es", "it", "pt", "nl", "ru", "ja", "ko")
# Below this share of the (renormalised) probability a short text's verdict is not trusted (a property
# of the detector, checked by tests/test_language.py, not of a library: callers may pass their own).
DEFAULT_FLOOR = 0.5
# lingua's own switch: from 120 characters on it uses trigrams only, and they suffice.
SHORT_CHARS = 120

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")
_EAST_ASIAN = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
# a run of East Asian characters, or a word in any other script ("什么是PaperMage" is two)
_WORD = re.compile(rf"[{_EAST_ASIAN}]+|[^\W_{_EAST_ASIAN}][^\W{_EAST_ASIAN}'’-]*(?:['’-][^\W{_EAST_ASIAN}]+)*")
# Not evidence of a language: anything with a digit (S2ORC, BM25), acronyms (PDF, GROBID),
# inner capitals (PaperMage, LaTeX), single letters.
_NAME = re.compile(r"^(?:.*\d.*|[^\W\d_]|[A-Z]{2,}s?|.+[A-Z].*)$")
_SCRIPT_LANGUAGES = ("zh", "ja", "ko")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_CYRILLIC_LANGUAGES = ("ru", "uk", "bg", "sr", "mk", "be", "kk")


def detect_language(text: str, fallback: str = "und", languages: Iterable[str] = SUPPORTED,
                    floor: float = DEFAULT_FLOOR) -> str:
    """ISO 639-1 code ('en', 'zh', ...) of ``text``; ``fallback`` when it cannot be told.

    ``fallback`` is returned for text with nothing to judge (a bare name, digits) and for short
    text whose verdict is below ``floor``.
    """
    code, confidence = detect_with_confidence(text, languages, floor)
    return code if code != "und" and confidence >= floor else fallback


def detect_with_confidence(text: str, languages: Iterable[str] = SUPPORTED,
                           floor: float = DEFAULT_FLOOR) -> tuple[str, float]:
    """(code, confidence 0-1); ('und', 0.0) when the text holds no evidence. ``floor`` only
    decides whether short text is worth lingua's larger models."""
    # names and acronyms say nothing of the language around them ("什么是PaperMage？")
    evidence = " ".join(w for w in _WORD.findall(text) if not _NAME.match(w))
    letters = len(_LETTER.findall(evidence))
    if letters == 0:
        return "und", 0.0
    by_script = _by_script(evidence, letters)
    if by_script:
        return by_script, 1.0
    allowed = tuple(c for c in dict.fromkeys(languages) if c not in _SCRIPT_LANGUAGES)
    if not allowed:
        return "und", 0.0
    if len(text) >= SHORT_CHARS:
        return _lingua_top(text[:5000], allowed)
    words = evidence.split()
    cyrillic = bool(_CYRILLIC.search(evidence))
    allowed = tuple(c for c in allowed if (c in _CYRILLIC_LANGUAGES) == cyrillic)
    if len(allowed) < 2:
        return (allowed[0], 1.0) if allowed else ("und", 0.0)
    probs, unknown = _word_model(words, allowed)
    if unknown or max(probs.values()) < floor:
        # a word no list knows (German compounds: "Zitationskontext") or no clear verdict:
        # lingua's n-grams see inside words; its 5-gram models load on first use (~3 s)
        ngram = _lingua_values(evidence, allowed)
        probs = _normalise({c: probs[c] * ngram.get(c, 0.0) for c in allowed}) or ngram
    if not probs:
        return "und", 0.0
    code = max(probs, key=lambda c: probs[c])
    return code, probs[code]


def question_language(question: str, *, earlier: Iterable[str] = (), user_language: str = "",
                      library_language: str | Callable[[], str] = "", languages: Iterable[str] = SUPPORTED,
                      floor: float = DEFAULT_FLOOR) -> str:
    """The language to answer ``question`` in: its own when clear, else (in this order) that of
    the conversation's earlier turns, the user's interface language (``en-US`` is fine), the
    library's main language (a callable is called only when needed), else ``'und'``."""
    languages = tuple(languages)
    code = detect_language(question, "und", languages, floor)
    if code != "und":
        return code
    before = "\n".join(t for t in earlier if t and t.strip())
    if before:
        code = detect_language(before, "und", languages, floor)
        if code != "und":
            return code
    code = normalise_code(user_language)
    if code != "und":
        return code
    library = library_language() if callable(library_language) else library_language
    return normalise_code(library)


def first_known(*codes: str) -> str:
    """The first code that is not undetermined ('und' when none is)."""
    return next((c for c in (normalise_code(c) for c in codes) if c != "und"), "und")


def normalise_code(code: str | None) -> str:
    """'en-US' / 'zh_CN' / 'EN' -> 'en'; empty -> 'und'."""
    code = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code and code != "auto" else "und"


def main_language(codes: Iterable[str | None]) -> str:
    """The most common known language among ``codes`` (e.g. the papers of a library)."""
    counts = Counter(c for c in (normalise_code(c) for c in codes) if c != "und")
    return counts.most_common(1)[0][0] if counts else "und"


def script_family(language: str) -> str:
    """'cjk' for Chinese, Japanese and Korean, 'alphabetic' for the rest ('und' stays 'und').

    Keyword matching across this line is noise (a Latin acronym in a Chinese question), while
    inside it the exact label matters little and is least reliable on short questions: a
    one-word English query may be detected as Tagalog.
    """
    if language in ("", "und"):
        return "und"
    return "cjk" if language in ("zh", "ja", "ko") else "alphabetic"


# -- internals ------------------------------------------------------------------------------
def _by_script(text: str, letters: int) -> str | None:
    if len(_KANA.findall(text)) / letters > 0.1:
        return "ja"
    if len(_HANGUL.findall(text)) / letters > 0.3:
        return "ko"
    if len(_CJK.findall(text)) / letters > 0.3:
        return "zh"
    return None


@lru_cache(maxsize=4)
def _detector(languages: tuple[str, ...]) -> Any:  # lingua's LanguageDetector (untyped)
    """One lingua detector per language set; models load lazily, per script, then stay."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    known = []
    for code in languages:
        try:
            known.append(Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())))
        except (AttributeError, ValueError):
            continue  # a code lingua does not know is simply not a candidate
    if len(known) < 2:
        known.append(Language.ENGLISH if Language.ENGLISH not in known else Language.GERMAN)
    return LanguageDetectorBuilder.from_languages(*known).build()


def _code(language: Any) -> str:  # a lingua Language
    return str(language.iso_code_639_1.name).lower()


def _lingua_values(text: str, languages: tuple[str, ...]) -> dict[str, float]:
    values = _detector(languages).compute_language_confidence_values(text)
    return {_code(v.language): v.value for v in values if _code(v.language) in languages}


def _lingua_top(text: str, languages: tuple[str, ...]) -> tuple[str, float]:
    values = _lingua_values(text, languages)
    if not values:
        return "und", 0.0
    code = max(values, key=lambda c: values[c])
    return code, values[code]


# A word a language's list lacks counts as this Zipf value (about once per 100 million words).
_UNSEEN_ZIPF = 1.0


def _word_model(words: list[str], languages: tuple[str, ...]) -> tuple[dict[str, float], bool]:
    """P(language | words) from each word's frequency in each language (a unigram model,
    uniform prior), and whether some word is in no language's list."""
    scores: dict[str, float] = {}
    seen = [False] * len(words)
    for code in languages:
        found = [_zipf(w.lower(), code) for w in words]
        zipfs = [z for z in found if z is not None]
        if len(zipfs) < len(found):
            continue  # no word list for this language: no opinion
        seen = [s or z > 0 for s, z in zip(seen, zipfs)]
        scores[code] = sum(max(z, _UNSEEN_ZIPF) for z in zipfs)
    unseen_score = _UNSEEN_ZIPF * len(words)  # a language without a list: as if every word were unseen
    top = max([unseen_score, *scores.values()])
    probs = _normalise({c: 10 ** (scores.get(c, unseen_score) - top) for c in languages})
    return probs, not all(seen)


@lru_cache(maxsize=65536)
def _zipf(word: str, code: str) -> float | None:
    """Zipf frequency from wordfreq's 'small' lists: 0.2 s and 25 MB for seven languages, where
    the 'large' ones cost 2 s and 265 MB for no better verdicts on the test set (a word the
    small lists lack sends the question to lingua)."""
    from wordfreq import zipf_frequency

    try:
        return zipf_frequency(word, code, wordlist="small")
    except LookupError:
        return None


def _normalise(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    if not total or math.isnan(total):
        return {}
    return {c: v / total for c, v in values.items()}
