"""How long `show`, `export`, `reading-list` and a metadata-only import take on a library.

Read operations run on the library as it is; the import writes N metadata-only entries (made
from the library's own reading list: title, year, DOI) into a scratch knowledge base, which is
deleted afterwards. Prints one JSON object.

    .venv/bin/python bench/library_io.py --data-dir /tmp/lib [--kb lib] [--repeat 3] [--import-n 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--kb", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--import-n", type=int, default=20)
    args = parser.parse_args()

    from scholargraph.library import Library
    from scholargraph.library_io.bib_import import import_entries
    from scholargraph.library_io.entries import BibEntry
    from scholargraph.library_io.export import FORMATS, export
    from scholargraph.library_io.reading_list import reading_list
    from scholargraph.library_io.show import show_paper
    from scholargraph.settings import Settings

    library = Library(Settings(data_dir=args.data_dir))
    scopes = [args.kb] if args.kb else None
    papers = library.papers(scopes)
    stats = library.graph.stats(scopes)
    out: dict[str, object] = {"papers": len(papers), "references": stats["references"],
                              "resolved_references": stats["resolved_references"]}
    library.embedder.embed_documents(["warm up"])  # model load is not part of any operation
    show_s = [timed(lambda p=p: show_paper(library, p["id"], scopes), args.repeat)[0] for p in papers]
    out["show_s_median"] = round(statistics.median(show_s), 4)
    out["show_s_max"] = round(max(show_s), 4)
    for fmt in FORMATS:
        seconds, text = timed(lambda fmt=fmt: export(library, fmt, scopes), args.repeat)
        out[f"export_{fmt}_s"] = round(seconds, 4)
        out[f"export_{fmt}_bytes"] = len(text.encode())
    seconds, works = timed(lambda: reading_list(library, scopes), args.repeat)
    out["reading_list_s"] = round(seconds, 4)
    out["reading_list_works"] = len(works)
    entries = [BibEntry(title=w["title"], year=w["year"], doi=w["doi"], arxiv_id=w["arxiv_id"])
               for w in works[: args.import_n]]
    if entries:
        scratch = "bench-library-io"
        start = time.perf_counter()
        report = import_entries(library, entries, scratch, import_format="bibtex", origin="bench")
        seconds = time.perf_counter() - start
        library.delete_scope(scratch)
        out["import_metadata_only_entries"] = len(report.metadata_only)
        out["import_metadata_only_s_per_entry"] = round(seconds / max(1, len(entries)), 4)
    library.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
