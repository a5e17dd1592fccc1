"""Ingest benchmark: ScholarGraph against a naive baseline in the same run; prints one JSON object.

    .venv/bin/python bench/ingest.py [PATH ...] [--workers N] [--no-baseline] [--pages-per-s N]

Both sides get the same embedder, loaded before either clock starts:
- ScholarGraph: ``Library.ingest`` into a fresh library (parse, chunk, embed, Chroma, graph).
- baseline (what Open WebUI does with an upload): pypdf text of every page, fixed 1,000-character
  chunks with 100 overlapping, each chunk embedded once. No structure, no store, no graph.
For each: wall seconds, CPU-seconds of the whole process tree, and the ratio ScholarGraph ÷
baseline. Peak RSS is sampled over the whole tree (this process and any parse workers).
``--pages-per-s N`` also ingests N generated papers (reportlab, from the SciFact abstracts,
with sections and references; ``pip install reportlab``) to show how cost grows with the library.
The machine is shared by other jobs here: read the CPU-seconds and the load average, not the wall.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

from scholargraph.library import Library  # noqa: E402
from scholargraph.settings import Settings  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT = SHARED / "papers"
CHUNK_CHARS, CHUNK_OVERLAP = 1000, 100  # Open WebUI's defaults
# Generated papers get 3 of these 40 authors each, so co-authorship stays sparse as in a real library.
AUTHORS = [f"{first} {last}" for first in ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John")
           for last in ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov")]


class TreeMonitor:
    """Peak RSS of this process plus its children, sampled every 100 ms in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.1):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def tree_cpu_seconds() -> float:
    """CPU-seconds of this process, its live children and its finished (waited-for) children."""
    me = psutil.Process()
    times = me.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in me.children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def measured(run):
    """(result, wall seconds, CPU-seconds of the tree) of ``run()``."""
    cpu, wall = tree_cpu_seconds(), time.perf_counter()
    result = run()
    return result, time.perf_counter() - wall, tree_cpu_seconds() - cpu


def pdf_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        files.extend(sorted(path.rglob("*.pdf")) if path.is_dir() else [path])
    return files


def baseline(files: list[Path], embedder) -> dict:
    """pypdf text, fixed 1,000-character chunks, one embedding each (Open WebUI's upload path)."""
    import pypdf

    chunks = 0
    for path in files:
        reader = pypdf.PdfReader(str(path))
        text = "\n".join((page.extract_text() or "") for page in reader.pages)
        pieces = [text[i : i + CHUNK_CHARS] for i in range(0, max(len(text) - CHUNK_OVERLAP, 1), CHUNK_CHARS - CHUNK_OVERLAP)]
        pieces = [p for p in pieces if p.strip()]
        if pieces:
            embedder.embed_documents(pieces)
        chunks += len(pieces)
    return {"chunks": chunks}


def scholargraph(library: Library, paths: list[str]):
    return library.ingest(paths, scope="bench")


def generated_corpus(folder: Path, count: int) -> list[Path]:
    """``count`` papers from the SciFact abstracts: title, authors, abstract, two sections, references."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    docs = [json.loads(line) for line in (SHARED / "scifact-mini" / "corpus_subset_2101.jsonl").open()]
    styles = getSampleStyleSheet()
    titles = [" ".join(d["text"].split()[:9]).rstrip(".,;:") for d in docs]
    files = []
    for n in range(count):
        parts = [docs[(3 * n + k) % len(docs)]["text"] for k in range(3)]
        story = [
            Paragraph(titles[3 * n % len(docs)], styles["Title"]),
            Paragraph(", ".join(AUTHORS[(n * 7 + k * 13) % len(AUTHORS)] for k in range(3)), styles["Normal"]),
            Paragraph("first.author@example.org", styles["Normal"]),
            Paragraph("Abstract", styles["Heading2"]), Paragraph(parts[0], styles["BodyText"]),
            Paragraph("1 Introduction", styles["Heading2"]), Paragraph(parts[1], styles["BodyText"]),
            Paragraph("2 Results", styles["Heading2"]), Paragraph(parts[2], styles["BodyText"]),
            Spacer(1, 12), Paragraph("References", styles["Heading2"]),
        ]
        for k in range(1, 6):
            cited = (3 * (n + k * 7)) % len(docs)
            story.append(Paragraph(f"[{k}] Grace Hopper and Edsger Dijkstra. {2000 + k}. {titles[cited]}. "
                                   f"In Proceedings of the Example Conference, pages {k}-{k + 9}.", styles["Normal"]))
        path = folder / f"scifact-{n:04d}.pdf"
        SimpleDocTemplate(str(path), pagesize=letter).build(story)
        files.append(path)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT)])
    parser.add_argument("--workers", type=int, default=0, help="parsing.workers (0 = parse thread)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--pages-per-s", type=int, default=0, metavar="N", help="also ingest N generated papers")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for ScholarGraph, e.g. --set parsing.pdf_reader=unstructured")
    args = parser.parse_args()
    files = pdf_files(args.paths)
    for path in files:  # both sides read the files from the page cache
        path.read_bytes()
    load_before = os.getloadavg()
    out: dict = {"benchmark": "ingest", "files": len(files), "settings": args.set, "workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp, TreeMonitor() as monitor:
        overrides = {"parsing.workers": args.workers, **dict(item.split("=", 1) for item in args.set)}
        settings = Settings(data_dir=Path(tmp) / "lib").with_overrides(overrides)
        library = Library(settings)
        library.embedder.embed_documents(["warm up"])  # model load is not ingest time
        if not args.no_baseline:
            base, base_wall, base_cpu = measured(lambda: baseline(files, library.embedder))
            out["baseline"] = {**base, "wall_seconds": round(base_wall, 2), "cpu_seconds": round(base_cpu, 2)}
        report, wall, cpu = measured(lambda: scholargraph(library, args.paths))
        if args.workers:
            from scholargraph.parsing.pool import discard_shared_pool

            _, _, pool_cpu = measured(lambda: discard_shared_pool(wait=True))  # workers' CPU lands in children_*
            cpu += pool_cpu
        second = library.ingest(args.paths, scope="bench")
        stats = library.stats()
        out["scholargraph"] = {
            "added": len(report.added),
            "failed": [e for _, e in report.failed],
            "pages": report.pages,
            "chunks": report.chunks,
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "pages_per_s": round(report.pages / wall, 2) if wall else None,
            "stage_seconds": {k: round(v, 2) for k, v in report.seconds.items()},
            "ocr_pages": report.ocr_pages,
            "edges": stats.get("edges"),
            "reingest_skipped": len(second.skipped),
            "reingest_seconds": round(second.wall_seconds, 2),
        }
        if "baseline" in out:
            out["ratio"] = {
                "wall": round(wall / max(out["baseline"]["wall_seconds"], 1e-9), 3),
                "cpu": round(cpu / max(out["baseline"]["cpu_seconds"], 1e-9), 3),
            }
        library.close()
        if args.pages_per_s:
            corpus = Path(tmp) / "generated"
            corpus.mkdir()
            generated = generated_corpus(corpus, args.pages_per_s)
            big = Library(Settings(data_dir=Path(tmp) / "big").with_overrides(overrides))
            big.embedder.embed_documents(["warm up"])
            rep, gwall, gcpu = measured(lambda: big.ingest([str(corpus)], scope="generated"))
            out["generated"] = {
                "papers": len(rep.added), "failed": len(rep.failed), "pages": rep.pages, "chunks": rep.chunks,
                "wall_seconds": round(gwall, 2), "cpu_seconds": round(gcpu, 2),
                "pages_per_s": round(rep.pages / gwall, 2) if gwall else None,
                "pages_per_cpu_s": round(rep.pages / gcpu, 2) if gcpu else None,
                "stage_seconds": {k: round(v, 2) for k, v in rep.seconds.items()},
                "edges": big.stats().get("edges"),
            }
            big.close()
    out["peak_tree_rss_mib"] = round(monitor.peak / 2**20, 1)
    out["embedding_model"] = stats["embedding_model"]
    out["note"] = ("stage seconds are wall time per stage; parse runs beside embedding (thread or workers), so "
                   "stages overlap. parse_cpu is the parse thread's/workers' own CPU.")
    out["loadavg_before"] = [round(x, 2) for x in load_before]
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    out["machine"] = machine()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
