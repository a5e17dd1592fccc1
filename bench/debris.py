"""Passage cleanliness: the share of stored chunks that carry debris (captions, table text,
arXiv stamps, footnote marks and URLs, running heads, page numbers) in body text.

    .venv/bin/python bench/debris.py [PATH ...] [--workers N] [--examples N] [--dump FILE]
                                     [--set parsing.pdf_reader=unstructured]

Parses and chunks each PDF with the default settings (what ingest stores) and runs the
detector of tests/debris.py on every chunk; prints one JSON object.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))
from debris import DebrisReport, PageEdges  # noqa: E402
from machine import machine  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "papers"


def _chunks(path: str, overrides: dict[str, str]):
    """Worker job: (file name, chunks, page edges) of one PDF."""
    from scholargraph.chunking import chunk_paper
    from scholargraph.parsing import parse_file
    from scholargraph.settings import Settings

    settings = Settings().with_overrides(overrides)
    paper = parse_file(path, settings.parsing)
    return Path(path).name, chunk_paper(paper, settings.chunking), PageEdges.from_pdf(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT)])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--examples", type=int, default=0, help="print this many debris examples")
    parser.add_argument("--dump", type=Path, help="write every chunk (kind, section, pages, text) as JSON lines here")
    parser.add_argument("--set", action="append", default=[], metavar="GROUP.FIELD=VALUE",
                        help="a settings override, e.g. parsing.pdf_reader=unstructured")
    args = parser.parse_args()
    files = sorted(str(f) for p in args.paths for f in ([Path(p)] if Path(p).is_file() else Path(p).glob("*.pdf")))
    report = DebrisReport()
    per_paper: dict[str, dict] = {}
    overrides = dict(item.split("=", 1) for item in args.set)
    start = time.perf_counter()
    dump = open(args.dump, "w", encoding="utf-8") if args.dump else None
    with cf.ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for name, chunks, edges in pool.map(_chunks, files, [overrides] * len(files)):
            before = (report.chunks, report.with_debris)
            for chunk in chunks:
                found = report.add(name, chunk, edges)
                if dump:
                    dump.write(json.dumps({"paper": name, "index": chunk.index, "kind": getattr(chunk, "kind", "body"),
                                           "section": chunk.section, "pages": [chunk.page_start, chunk.page_end],
                                           "debris": found, "text": chunk.text}, ensure_ascii=False) + "\n")
            per_paper[name] = {"chunks": report.chunks - before[0], "with_debris": report.with_debris - before[1]}
    if dump:
        dump.close()
    print(json.dumps({
        "benchmark": "debris",
        "files": len(files),
        "settings": overrides,
        "chunks": report.chunks,
        "chunks_by_kind": report.by_kind,
        "chunks_with_debris": report.with_debris,
        "debris_share": round(report.share, 3),
        "by_category": report.by_category,
        "per_paper": per_paper,
        "examples": report.examples[: args.examples],
        "wall_seconds": round(time.perf_counter() - start, 1),
        "machine": machine(),
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
