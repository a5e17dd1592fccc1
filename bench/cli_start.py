"""How long each `scholargraph` command takes from the shell, on an existing library; prints JSON.

Every run is a fresh interpreter, as a user's shell starts one. 'cold' is the first run of a
command (the OS file cache may not hold the modules yet), 'warm' the median of the others.
Wall time goes up with whatever else the machine runs; CPU time (user + sys of the child)
hardly does, so both are printed, with the load average beside them.

    .venv/bin/python bench/cli_start.py --data-dir LIB [--runs 5] [--src OLD/plugin]

``--src`` runs another checkout's package (e.g. ``git archive`` of an older commit) for a
before/after figure. ``delete`` runs on a throwaway copy of the library, so LIB stays whole.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

RUN = "from scholargraph.faces.cli import app; app(prog_name='scholargraph')"  # works without __main__.py too
QUICK = ["papers", "graph", "stats", "show", "export", "delete"]


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s, exit code) of one command in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, *args], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(f"{args}: exit {done.returncode}: {done.stderr.strip()[-300:]}", file=sys.stderr)
    return wall, cpu, done.returncode


def first_paper(data_dir: Path, env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", RUN, "--data-dir", str(data_dir), "papers", "--json"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]["id"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="An ingested library (left unchanged).")
    ap.add_argument("--runs", type=int, default=5, help="Runs per command (the first is 'cold').")
    ap.add_argument("--commands", default=",".join(QUICK) + ",search",
                    help="Comma-separated; 'search' runs one question (it loads the embedding model).")
    ap.add_argument("--src", type=Path, help="A plugin/ folder to import scholargraph from instead.")
    args = ap.parse_args()

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if args.src:
        env["PYTHONPATH"] = str(args.src.resolve())
    where = subprocess.run([sys.executable, "-c", "import scholargraph; print(scholargraph.__file__)"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    paper = first_paper(args.data_dir, env)
    scratch = Path(tempfile.mkdtemp(prefix="cli-start-"))
    results = {}
    try:
        for command in args.commands.split(","):
            runs = []
            for _ in range(args.runs):
                data_dir = args.data_dir
                if command == "delete":
                    data_dir = scratch / "lib"
                    shutil.rmtree(data_dir, ignore_errors=True)
                    shutil.copytree(args.data_dir, data_dir)
                argv = {"show": ["show", paper], "delete": ["delete", paper],
                        "search": ["search", "how are tables recognised?", "--k", "3"]}.get(command, [command])
                runs.append(timed(["--data-dir", str(data_dir), *argv], env))
            walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
            results[command] = {
                "cold_wall_s": round(walls[0], 2), "cold_cpu_s": round(cpus[0], 2),
                "warm_wall_s": round(statistics.median(walls[1:] or walls), 2),
                "warm_cpu_s": round(statistics.median(cpus[1:] or cpus), 2),
                "exit_codes": sorted({r[2] for r in runs}),
            }
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"package": where, "library": str(args.data_dir), "runs": args.runs,
                      "loadavg": Path("/proc/loadavg").read_text().split()[:3], "machine": machine(),
                      "commands": results}, indent=2))


if __name__ == "__main__":
    main()
