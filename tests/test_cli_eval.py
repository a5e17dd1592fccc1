"""`scholargraph eval xquad`: the language-pair x instruction-style matrix, one JSON row per cell."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from scholargraph.faces.cli import app


@pytest.mark.slow  # two libraries of 240 paragraphs each (~10 s on an idle 2-core machine)
def test_xquad_matrix_runs_every_pair_under_every_style(tmp_path, shared_data):
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "unused"), "eval", "xquad",
                                      str(shared_data / "xquad-r"), "--pairs", "zh-en", "--limit", "12",
                                      "--instruction-styles", "auto,none", "--modes", "dense,bm25"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2 and all(r["queries"] == 12 and r["documents"] == 240 for r in rows)
    assert rows[1]["instruction_style"] == "none"
    assert {"dense", "bm25"} <= set(rows[0])  # the first style: every mode asked
    assert "dense" in rows[1] and "bm25" not in rows[1]  # the others: dense only
    assert rows[0]["dense"]["accuracy@1"] > rows[0]["bm25"]["accuracy@1"]  # zh questions, en paragraphs
    assert not any((tmp_path / "unused").glob("*"))  # built apart, never in the user's library
