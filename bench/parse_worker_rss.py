"""Memory of one warm parse worker (parsing/pool.py) after a parse, with and without SQLAlchemy; prints JSON.

A parse worker imports ``scholargraph.ingest.parse_stage`` (the pickled ``parse_job``) and through
parsing ``graph.keys``. ``scholargraph.graph`` loads PaperGraph lazily, so the worker never imports
SQLAlchemy; the second figure is what the same worker holds once PaperGraph is imported (as the
eager ``scholargraph.graph`` did before).

    .venv/bin/python bench/parse_worker_rss.py [FILE]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_figures(path: str) -> dict[str, object]:
    from scholargraph.ingest.parse_stage import parse_job
    from scholargraph.settings import ParsingSettings

    parse_job(path, ParsingSettings())
    lazy = {"rss_mib": round(_rss_mib(), 1), "sqlalchemy_loaded": "sqlalchemy" in sys.modules}
    import scholargraph.graph.paper_graph  # noqa: F401  what an eager scholargraph.graph imported

    eager = {"rss_mib": round(_rss_mib(), 1), "sqlalchemy_loaded": "sqlalchemy" in sys.modules}
    return {"lazy_graph": lazy, "with_paper_graph": eager}


if __name__ == "__main__":
    from scholargraph.parsing.pool import new_pool

    sample = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "docs" / "sample.md")
    pool = new_pool(1)
    try:
        figures = pool.submit(worker_figures, str(Path(sample).resolve())).result()
    finally:
        pool.shutdown()
    print(json.dumps({"file": Path(sample).name, **figures}))
