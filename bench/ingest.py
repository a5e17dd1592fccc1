"""Ingest benchmark: ../shared/data/papers into a fresh library; prints one JSON object.

    .venv/bin/python bench/ingest.py [PATH ...] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine, peak_rss_mib  # noqa: E402

from scholargraph.library import Library  # noqa: E402
from scholargraph.settings import Settings  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "papers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT)])
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp)).with_overrides({"parsing.workers": args.workers})
        library = Library(settings)
        library.embedder.embed_documents(["warm up"])  # model load is not ingest time
        start = time.perf_counter()
        report = library.ingest(args.paths, scope="bench")
        wall = time.perf_counter() - start
        second = library.ingest(args.paths, scope="bench")
        stats = library.stats()
        library.close()
    print(json.dumps({
        "benchmark": "ingest",
        "files": len(report.added) + len(report.failed),
        "added": len(report.added),
        "failed": [e for _, e in report.failed],
        "pages": report.pages,
        "chunks": report.chunks,
        "wall_seconds": round(wall, 2),
        "pages_per_s": round(report.pages / wall, 2),
        "chunks_per_s": round(report.chunks / wall, 2),
        "stage_seconds": {k: round(v, 2) for k, v in report.seconds.items()},
        "note": "parse seconds are summed over parallel worker processes",
        "reingest_skipped": len(second.skipped),
        "reingest_seconds": round(second.wall_seconds, 2),
        "edges": stats.get("edges"),
        "embedding_model": stats["embedding_model"],
        "peak_rss_mib": peak_rss_mib(),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
