"""Question-language detection: accuracy on the short-question set of tests/test_language.py
and what it costs (first call loads models; later calls are warm; memory of the process).

    .venv/bin/python bench/language.py

Prints one JSON object: accuracy with an English fallback and with none (share of questions
whose verdict is right or 'und'), load and per-question times, and langdetect's old verdicts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from machine import machine, peak_rss_mib  # noqa: E402
from test_language import CASES  # noqa: E402


def main() -> None:
    from scholargraph.language import detect_language

    t0 = time.perf_counter()
    detect_language("layout toolkit")
    first_words = time.perf_counter() - t0
    rss_words = peak_rss_mib(include_children=False)
    t0 = time.perf_counter()
    detect_language("Zitationskontext")
    first_ngrams = time.perf_counter() - t0
    rss_ngrams = peak_rss_mib(include_children=False)
    t0 = time.perf_counter()
    with_fallback = [detect_language(q, fallback="en") == want for q, want in CASES]
    warm_ms = (time.perf_counter() - t0) * 1000 / len(CASES)
    bare = [detect_language(q) for q, _ in CASES]
    right_or_und = [got in (want, "und") for got, (_, want) in zip(bare, CASES)]
    old = {}
    try:
        from langdetect import DetectorFactory, detect

        DetectorFactory.seed = 0
        old_right = 0
        for q, want in CASES:
            try:
                got = detect(q)
            except Exception:
                got = "und"
            got = "zh" if got.startswith("zh") else got
            old_right += got == want
            if q in ("layout toolkit", "table encoding", "citation context", "PaperMage"):
                old[q] = got
        old["accuracy"] = round(old_right / len(CASES), 3)
    except ImportError:
        pass
    print(json.dumps({
        "questions": len(CASES),
        "accuracy_with_english_fallback": round(sum(with_fallback) / len(CASES), 3),
        "right_or_und_without_fallback": round(sum(right_or_und) / len(CASES), 3),
        "und_without_fallback": sum(b == "und" for b in bare),
        "first_call_s_word_model": round(first_words, 3),
        "first_call_s_with_ngram_models": round(first_ngrams, 3),
        "warm_ms_per_question": round(warm_ms, 3),
        "peak_rss_mib_after_word_model": round(rss_words, 1),
        "peak_rss_mib_after_ngram_models": round(rss_ngrams, 1),
        "langdetect_before": old,
        "machine": machine(),
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
