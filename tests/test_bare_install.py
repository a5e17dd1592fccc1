"""A bare `pip install` of ScholarGraph leaves unstructured-inference out (scripts/install.sh adds it
without its dependencies, which would pull a CUDA torch). Text-layer PDFs must still parse; what
does need it (OCR, the 'unstructured' PDF reader) fails on that file in one line naming the command.

The package's absence is played in a fresh interpreter: a sitecustomize sets
``sys.modules['unstructured_inference'] = None``, so importing it raises ModuleNotFoundError as
when pip never installed it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from scholargraph.parsing.partition import INFERENCE_PIN

PROBE = """
import json, sys
from scholargraph.errors import ParseError
from scholargraph.parsing.pipeline import parse_file
from scholargraph.settings import ParsingSettings

out = {}
for name, path, reader in json.loads(sys.argv[1]):
    try:
        paper = parse_file(path, ParsingSettings(pdf_reader=reader))
        out[name] = {"title": paper.title, "sections": len(paper.sections)}
    except ParseError as exc:
        out[name] = {"error": str(exc)}
print(json.dumps(out))
"""


def test_without_unstructured_inference_text_pdfs_parse_and_ocr_names_the_fix(tmp_path, shared_data):
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['unstructured_inference'] = None\n")
    files = [
        ("text", str(shared_data / "papers" / "papermage.pdf"), "pdfium"),
        ("markdown", str(shared_data / "docs" / "sample.md"), "pdfium"),
        ("scanned", str(shared_data / "scanned" / "small_ocr.pdf"), "pdfium"),
        ("unstructured_reader", str(shared_data / "papers" / "papermage.pdf"), "unstructured"),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(files)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])

    assert got["text"]["title"].startswith("PaperMage") and got["text"]["sections"] > 10, got["text"]
    assert got["markdown"]["title"] and "error" not in got["markdown"]
    fix = f"{sys.executable} -m pip install --no-deps {INFERENCE_PIN}"
    for name, what in (("scanned", "OCR of scanned pages"), ("unstructured_reader", "parsing.pdf_reader='unstructured'")):
        error = got[name].get("error", "")
        file = Path(dict((n, p) for n, p, _ in files)[name]).name
        assert error == (f"{file}: {what} needs unstructured-inference, which `pip install` of ScholarGraph "
                         f"leaves out: run `{fix}`"), got[name]
        assert "\n" not in error


def test_the_named_fix_is_what_install_sh_and_this_environment_install():
    assert version("unstructured-inference") == INFERENCE_PIN.split("==")[1]
    install = (Path(__file__).parent.parent / "scripts" / "install.sh").read_text()
    assert f'--no-deps "{INFERENCE_PIN}"' in install
