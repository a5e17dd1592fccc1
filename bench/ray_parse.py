"""Parse throughput on Ray, for sizing a cluster import: prints one JSON object.

    .venv/bin/python bench/ray_parse.py [PATH ...] [--cpus N] [--rounds R]

Parses the files as Ray tasks (the executor's own ``parse_on_ray``) R times on a local Ray
instance with N CPUs. Round 1 includes each worker's imports; later rounds are the steady
state a long import runs at. Besides pages/s it reports worker CPU-seconds per page, the
figure that still holds when other work shares the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

from scholargraph.ingest import discover  # noqa: E402
from scholargraph.ingest_ray import parse_on_ray, require_ray  # noqa: E402
from scholargraph.settings import ParsingSettings  # noqa: E402

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "papers"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT)])
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ray = require_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=args.cpus, include_dashboard=False, object_store_memory=200 * 2**20, log_to_driver=False)
    files, _ = discover(args.paths)
    settings = ParsingSettings()
    rounds = []
    for _ in range(args.rounds):
        start, load = time.perf_counter(), os.getloadavg()[0]
        pages, cpu, failed = 0, 0.0, []
        for path, outcome in parse_on_ray(ray, files, settings):
            cpu += outcome.cpu_s
            if outcome.paper is None:
                failed.append(outcome.error)
            else:
                pages += outcome.paper.pages
        wall = time.perf_counter() - start
        rounds.append({
            "files": len(files), "pages": pages, "failed": failed, "wall_s": round(wall, 2),
            "pages_per_s": round(pages / wall, 2), "pages_per_s_per_core": round(pages / wall / args.cpus, 2),
            "worker_cpu_s": round(cpu, 2), "cpu_s_per_page": round(cpu / max(pages, 1), 4),
            "load_avg_1m_before": round(load, 2),
        })
    ray.shutdown()
    steady = rounds[1:] or rounds
    print(json.dumps({
        "benchmark": "ray_parse",
        "machine": machine(),
        "ray_cpus": args.cpus,
        "pdf_reader": getattr(settings, "pdf_reader", "unstructured"),
        "rounds": rounds,
        "steady_cpu_s_per_page": round(sum(r["worker_cpu_s"] for r in steady) / max(sum(r["pages"] for r in steady), 1), 4),
        "steady_pages_per_s_per_core": round(sum(r["pages"] for r in steady) / sum(r["wall_s"] for r in steady) / args.cpus, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
