"""`GET /search` under load: requests/s, p50/p95/p99, errors and the service's RSS at 1, 8 and 32
concurrent clients on loopback, plus in-process ``Library.search`` (hops 1, query embedding
included) for comparison. Prints one JSON object.

    .venv/bin/python bench/load.py [--papers ../shared/data/papers] [--clients 1,8,32] [--seconds 15]
                                   [--keep DIR] [--inprocess 200]

The library is the shipped papers, ingested once (``--keep DIR`` reuses it across runs). The
service is ``scholargraph serve`` in its own process, as deployed; the clients are asyncio tasks
in this process (one connection each), so the load generator costs little CPU next to it. Every
run is bounded by ``--seconds`` per level.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCOPE = "load"
KEY = "bench-key"
QUESTIONS = [
    "How are tables detected in scanned documents?",
    "layout analysis toolkit for document images",
    "citation graph expansion for retrieval",
    "which datasets are used to evaluate summarisation of legal cases?",
    "how do they extract scientific figures and captions",
    "什么方法用于文档版面分析？",
    "multilingual embeddings for cross-lingual retrieval",
    "what is the F1 score of the best model?",
    "PaperMage",
    "reading order of text blocks in PDFs",
    "transformer models for information extraction from papers",
    "how large is the annotated corpus?",
]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def ensure_library(data: Path, papers: Path) -> None:
    """Ingest the papers once into ``data`` (skipped files cost a hash each on reuse)."""
    done = subprocess.run([str(Path(sys.executable).with_name("scholargraph")), "--data-dir", str(data), "ingest",
                           str(papers), "--kb", SCOPE, "--json"], capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1"})
    if done.returncode not in (0, 1):
        raise SystemExit(f"ingest failed: {done.stderr[-2000:]}")


def start_service(data: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "SCHOLARGRAPH_SERVICE__API_KEY": KEY}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("scholargraph")), "--data-dir", str(data), "serve",
                             "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the service did not start")


def service_cpu_s(proc: subprocess.Popen) -> float:
    """CPU seconds the service (and its children) used so far: a figure a busy machine distorts less than wall time."""
    root = psutil.Process(proc.pid)
    total = 0.0
    for p in (root, *root.children(recursive=True)):
        times = p.cpu_times()
        total += times.user + times.system
    return total


def service_rss_mib(proc: subprocess.Popen) -> float:
    """The service and any worker processes it runs."""
    root = psutil.Process(proc.pid)
    procs = [root, *root.children(recursive=True)]
    return round(sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20, 1)


async def level(port: int, clients: int, seconds: float) -> dict:
    """``clients`` tasks sending /search back to back for ``seconds``."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop = time.perf_counter() + seconds

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                     headers={"Authorization": f"Bearer {KEY}"}) as http:
            i = n
            while time.perf_counter() < stop:
                q = QUESTIONS[i % len(QUESTIONS)]
                i += 1
                t0 = time.perf_counter()
                try:
                    r = await http.get("/search", params={"q": q, "kb": SCOPE, "hops": 1})
                    if r.status_code == 200:
                        latencies.append((time.perf_counter() - t0) * 1000)
                    else:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    t0 = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests": len(latencies), "errors": errors,
            "requests_per_s": round(len(latencies) / wall, 1), "p50_ms": percentile(latencies, 50),
            "p95_ms": percentile(latencies, 95), "p99_ms": percentile(latencies, 99)}


def in_process(data: Path, n: int) -> dict:
    """``Library.search`` hops 1 in this process, query embedding included."""
    from scholargraph.library import Library
    from scholargraph.settings import Settings

    library = Library(Settings(data_dir=data))
    for q in QUESTIONS:  # warm: model, keyword index, caches
        library.search(q, [SCOPE], hops=1)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        library.search(QUESTIONS[i % len(QUESTIONS)], [SCOPE], hops=1)
        times.append((time.perf_counter() - t0) * 1000)
    embed = []
    cpu = time.process_time()
    for i in range(n):
        t0 = time.perf_counter()
        library.embedder.embed_queries([QUESTIONS[i % len(QUESTIONS)]])
        embed.append((time.perf_counter() - t0) * 1000)
    embed_cpu = (time.process_time() - cpu) * 1000 / n
    cpu = time.process_time()
    for i in range(n):
        library.search(QUESTIONS[i % len(QUESTIONS)], [SCOPE], hops=1)
    search_cpu = (time.process_time() - cpu) * 1000 / n
    library.close()
    return {"queries": n, "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "cpu_ms_per_search": round(search_cpu, 1), "query_embedding_p50_ms": percentile(embed, 50),
            "query_embedding_cpu_ms": round(embed_cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=Path, default=REPO.parent / "shared" / "data" / "papers")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--keep", type=Path, help="library folder to build once and reuse")
    parser.add_argument("--inprocess", type=int, default=200, help="in-process queries (0 = skip)")
    args = parser.parse_args()

    data = args.keep or Path(tempfile.mkdtemp(prefix="scholargraph-load-"))
    load_before = round(os.getloadavg()[0], 1)  # other work on the machine skews every figure
    t0 = time.perf_counter()
    ensure_library(data, args.papers)
    out: dict = {"machine": machine(), "library": str(data), "ingest_s": round(time.perf_counter() - t0, 1),
                 "load_average_1m_at_start": load_before}
    if args.inprocess:
        out["in_process"] = in_process(data, args.inprocess)

    port = free_port()
    proc = start_service(data, port)
    try:
        asyncio.run(level(port, 1, 3))  # warm: model, keyword index
        out["rss_before_mib"] = service_rss_mib(proc)
        out["levels"] = []
        for clients in args.clients.split(","):
            cpu0 = service_cpu_s(proc)
            result = asyncio.run(level(port, int(clients), args.seconds))
            result["service_cpu_ms_per_request"] = round((service_cpu_s(proc) - cpu0) * 1000 / max(result["requests"], 1), 1)
            out["levels"].append(result)
        out["load_average_1m"] = round(os.getloadavg()[0], 1)
        out["rss_after_mib"] = service_rss_mib(proc)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
