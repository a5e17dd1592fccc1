"""What a question about the whole library costs: building the overview (themes, citation counts,
abstracts) cold and cached, telling a library question from an ordinary one, and the pack.

Prints one JSON object, with the routing margin: the highest score of an ordinary question
(context_questions.json) and the lowest of the library questions in tests/test_library_questions.py.

    .venv/bin/python bench/library_questions.py --data-dir /tmp/lib [--kb lib] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--kb", action="append", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

    from test_library_questions import LIBRARY_QUESTIONS, ordinary_questions

    from scholargraph.library import Library
    from scholargraph.retrieval import library_overview as lo
    from scholargraph.settings import Settings

    library = Library(Settings(data_dir=args.data_dir))
    library.embedder.embed_queries(["warm up"])
    start = time.perf_counter()
    overview = library.overview(args.kb)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        library.overview(args.kb)
        warm.append(time.perf_counter() - start)

    def best(question: str) -> tuple[str, float]:
        scores = lo.library_intent_scores(library.embedder, question)
        top = max(scores, key=scores.get)
        return top, max(v for k, v in scores.items() if k != lo.ORDINARY)

    lo.library_intent_scores(library.embedder, "warm up")  # prototypes embedded once
    start = time.perf_counter()
    ordinary = [best(q) for q in ordinary_questions()]
    library_qs = [best(q) for q in LIBRARY_QUESTIONS]
    per_question = (time.perf_counter() - start) / (len(ordinary) + len(library_qs))
    pack_times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        lo.library_pack(library.embedder, library.graph, library.store, LIBRARY_QUESTIONS[0], args.kb, "always",
                        settings=library.settings.retrieval)
        pack_times.append(time.perf_counter() - start)
    pack = lo.library_pack(library.embedder, library.graph, library.store, LIBRARY_QUESTIONS[0], args.kb, "always",
                        settings=library.settings.retrieval)
    from scholargraph.chunking import count_tokens

    print(json.dumps({
        "papers": len(overview.papers), "themes": len(overview.themes),
        "overview_cold_s": round(cold, 3), "overview_cached_ms": round(1000 * statistics.median(warm), 2),
        "detect_ms_per_question": round(1000 * per_question, 1),
        "pack_ms": round(1000 * statistics.median(pack_times), 1), "pack_tokens": count_tokens(pack.text),
        "threshold": library.settings.retrieval.library_threshold,
        "ordinary_max_score": round(max(s for _, s in ordinary), 3),
        "ordinary_max_score_not_one_paper": round(max(s for top, s in ordinary if top != lo.ORDINARY), 3),
        "ordinary_routed": sum(1 for top, s in ordinary if top != lo.ORDINARY and s >= library.settings.retrieval.library_threshold),
        "library_min_score": round(min(s for _, s in library_qs), 3),
        "library_missed": sum(1 for top, s in library_qs if top == lo.ORDINARY or s < library.settings.retrieval.library_threshold),
    }, indent=2))


if __name__ == "__main__":
    main()
