"""A misspelt setting is an error that names the closest one, wherever it is given: a SCHOLARGRAPH_*
variable, a --set key, a constructor keyword. Nothing misspelt is dropped silently."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from scholargraph.errors import ConfigError
from scholargraph.faces.cli import app
from scholargraph.settings import RetrievalSettings, Settings


def test_misspelt_variable_names_the_closest_setting(monkeypatch):
    monkeypatch.setenv("SCHOLARGRAPH_RETRIEVAL__HYBIRD", "false")
    with pytest.raises(ConfigError) as caught:
        Settings()
    assert str(caught.value) == ("SCHOLARGRAPH_RETRIEVAL__HYBIRD: no such setting; "
                                 "did you mean SCHOLARGRAPH_RETRIEVAL__HYBRID?")


def test_misspelt_top_level_and_lowercase_variables_are_caught(monkeypatch):
    monkeypatch.setenv("scholargraph_datadir", "/tmp/x")  # pydantic-settings reads names in any case
    with pytest.raises(ConfigError, match="SCHOLARGRAPH_DATADIR: no such setting; did you mean SCHOLARGRAPH_DATA_DIR"):
        Settings()


def test_good_variables_tool_variables_and_others_still_work(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHOLARGRAPH_RETRIEVAL__HYBRID", "false")
    monkeypatch.setenv("SCHOLARGRAPH_RETRIEVAL__EDGE_WEIGHTS__CITES", "2")  # a key inside a dict setting
    monkeypatch.setenv("SCHOLARGRAPH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SCHOLARGRAPH_FUNCTION_VALVES", "{}")  # the functions installer's, not a setting
    monkeypatch.setenv("SCHOLARGRAPHX_HYBIRD", "1")  # outside the prefix: not ours
    settings = Settings()
    assert settings.retrieval.hybrid is False and settings.retrieval.edge_weights["cites"] == 2.0
    assert settings.data_dir == tmp_path


def test_cli_refuses_a_misspelt_variable_with_usage_exit(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHOLARGRAPH_EMBEDDING__BACKEDN", "vllm")
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "papers"])
    assert result.exit_code == 2
    assert "did you mean SCHOLARGRAPH_EMBEDDING__BACKEND?" in " ".join(result.output.split())


def test_misspelt_set_key_names_the_closest_setting(tmp_path):
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "--set", "retrieval.neighbour_budjet=2", "papers"])
    assert result.exit_code == 2
    assert "unknown setting 'retrieval.neighbour_budjet'; did you mean retrieval.neighbour_budget?" in \
        " ".join(result.output.split())


def test_misspelt_keywords_name_the_closest_setting(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown setting 'retrieval\.hybird'; did you mean retrieval\.hybrid\?"):
        Settings(data_dir=tmp_path, retrieval={"hybird": False})
    with pytest.raises(ConfigError, match="did you mean data_dir"):
        Settings(datadir=tmp_path)
    with pytest.raises(ConfigError, match="did you mean retrieval.top_k"):
        Settings(data_dir=tmp_path).with_overrides({"retrieval.topk": 3})
    with pytest.raises(ValueError, match="hybird"):  # a group built on its own forbids it too
        RetrievalSettings(hybird=False)  # type: ignore[call-arg]


def test_one_inherit_value_for_every_face(tmp_path):
    from scholargraph.settings import INHERIT, form_value

    base = Settings(data_dir=tmp_path, embedding={"dimensions": 512}, store={"chroma_port": 9000})
    kept = base.with_overrides({"embedding.dimensions": INHERIT, "llm.base_url": INHERIT})  # an option left unset
    assert kept.embedding.dimensions == 512
    assert base.with_overrides({"llm.base_url": ""}).llm.base_url == ""  # --set llm.base_url= still empties it
    # a valve cannot hold None: blank text and a 0 its setting cannot take stand for INHERIT, a 0 it can take is 0
    assert form_value("embedding.dimensions", 0) is INHERIT and form_value("store.chroma_port", 0) is INHERIT
    assert form_value("embedding.base_url", "  ") is INHERIT
    assert form_value("retrieval.hops", 0) == 0 and form_value("retrieval.hybrid", False) is False
    with pytest.raises(ValueError):  # and a 0 given where it cannot be is refused, not passed on to vLLM
        Settings(data_dir=tmp_path, embedding={"dimensions": 0})


def test_every_variable_the_deployment_sets_is_a_setting_or_a_tools_own():
    """compose, CI, the Pipelines and Open WebUI files: a variable they set that names no setting would
    now stop the engine at start, so it must be a setting or listed among the tools' own."""
    import re
    from pathlib import Path

    from scholargraph.setting_keys import check_environment

    repo = Path(__file__).resolve().parents[1]
    files = [f for top in ("compose", ".ci", "pipelines", "plugin") for f in (repo / top).rglob("*")
             if f.is_file() and f.suffix not in {".pyc", ".png", ".jpg", ".sqlite"} and "egg-info" not in str(f)]
    names = {m for f in files for m in re.findall(r"SCHOLARGRAPH_[A-Z0-9_]*[A-Z0-9]", f.read_text(errors="ignore"))}
    names = {n for n in names if not n.endswith("__")} - {"SCHOLARGRAPH_GROUP__FIELD"}  # prose: a prefix, a pattern
    assert len(names) > 10
    check_environment(names, Settings)
