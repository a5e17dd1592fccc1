"""Which language a text is in: CJK share first (langdetect misreads short Chinese), then langdetect."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LETTER = re.compile(r"\w")


def detect_language(text: str) -> str:
    """ISO 639-1 code ('en', 'zh', ...); 'und' when there is nothing to judge."""
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return "und"
    if len(_KANA.findall(text)) / letters > 0.1:
        return "ja"
    if len(_HANGUL.findall(text)) / letters > 0.3:
        return "ko"
    if len(_CJK.findall(text)) / letters > 0.3:
        return "zh"
    try:
        from langdetect import DetectorFactory, detect

        DetectorFactory.seed = 0
        code = detect(text[:5000])
    except Exception:
        return "und"
    return "zh" if code.startswith("zh") else code


def script_family(language: str) -> str:
    """'cjk' for Chinese, Japanese and Korean, 'alphabetic' for the rest ('und' stays 'und').

    Keyword matching across this line is noise (a Latin acronym in a Chinese question), while
    inside it the exact label matters little and is least reliable on short questions: a
    one-word English query may be detected as Tagalog.
    """
    if language in ("", "und"):
        return "und"
    return "cjk" if language in ("zh", "ja", "ko") else "alphabetic"
