"""N questions as N `scholargraph ask` calls against one `scholargraph chat` session; prints JSON.

`ask` loads the embedding model and opens the store on every call; `chat` does it once. Both
answer without a chat LLM (quoted sentences), so the figures are ScholarGraph's own. Wall time
goes up with whatever else the machine runs, CPU time (user + sys of the child) hardly does:
both are printed, with the load average.

    .venv/bin/python bench/chat_turns.py --data-dir LIB [--questions 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402

RUN = "from scholargraph.faces.cli import app; app(prog_name='scholargraph')"
QUESTIONS = ["What is PaperMage?", "What is LayoutParser?", "Which toolkit does PaperMage use for vision models?",
             "How are tables recognised?", "Which datasets are used for evaluation?"]


def timed(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, float]:
    """(wall s, CPU s) of one command in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, *args], env=env, input=stdin, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{args[2:4]}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="An ingested library (left unchanged).")
    ap.add_argument("--questions", type=int, default=3, help=f"How many questions (at most {len(QUESTIONS)}).")
    args = ap.parse_args()
    questions = QUESTIONS[: args.questions]
    env = {**os.environ, "SCHOLARGRAPH_LLM__BASE_URL": "", "SCHOLARGRAPH_LLM__MODEL": ""}
    base = ["--data-dir", str(args.data_dir)]
    asks = [timed([*base, "ask", q], env) for q in questions]
    chat = timed([*base, "chat"], env, stdin="\n".join(questions) + "\n")
    print(json.dumps({
        "machine": machine(), "questions": len(questions), "loadavg": os.getloadavg(),
        "ask_each": {"wall_s": round(sum(w for w, _ in asks), 2), "cpu_s": round(sum(c for _, c in asks), 2)},
        "chat_once": {"wall_s": round(chat[0], 2), "cpu_s": round(chat[1], 2)},
    }, indent=2))


if __name__ == "__main__":
    main()
