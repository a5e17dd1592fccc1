"""Every CLI option that stands for a setting names a real field of the settings model, with its type:
the global options are generated from the model, the commands' own ones are checked here."""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from scholargraph.errors import ConfigError
from scholargraph.faces.cli import app
from scholargraph.faces.cli.command_kit import setting_of, setting_option
from scholargraph.faces.cli.global_options import GLOBAL_OPTIONS
from scholargraph.setting_keys import field_info, value_type
from scholargraph.settings import Settings


def callbacks(typer_app=app, path="scholargraph"):
    """(command path, callback) of the global options and of every command, sub-apps walked."""
    yield path, typer_app.registered_callback.callback if typer_app.registered_callback else None
    for command in typer_app.registered_commands:
        yield f"{path} {command.name or command.callback.__name__}", command.callback
    for group in typer_app.registered_groups:
        yield from callbacks(group.typer_instance, f"{path} {group.name}")


def option_type(annotation) -> type:
    """``Optional[int]`` -> int, ``bool`` -> bool."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    return annotation


def setting_options() -> list[tuple[str, str, str, type]]:
    """(command, parameter, setting, option type) for every option made by ``setting_option``."""
    found = []
    for where, callback in callbacks():
        if callback is None:
            continue
        hints = typing.get_type_hints(callback)
        for name, param in inspect.signature(callback).parameters.items():
            dotted = setting_of(param.default)
            if dotted:
                found.append((where, name, dotted, option_type(hints[name])))
    return found


def test_every_setting_option_has_its_fields_type():
    found = setting_options()
    assert len(found) >= 20  # the global options, and --k, --hops, --llm-url, --port, --workers, ... per command
    for where, name, dotted, kind in found:
        assert kind is value_type(field_info(Settings, dotted)), f"{where} {name}: {kind} but {dotted} holds another type"


def test_every_global_option_is_generated_from_a_setting():
    found = {(name, dotted) for where, name, dotted, _ in setting_options() if where == "scholargraph"}
    assert {dotted for _, dotted in found} == set(GLOBAL_OPTIONS.values())
    for flag, dotted in GLOBAL_OPTIONS.items():
        help_text = next(o for o in _global_click_options() if flag in o.opts).help
        assert f"setting {dotted}" in help_text and field_info(Settings, dotted).description.rstrip(".") in help_text


def _global_click_options():
    return [p for p in typer.main.get_command(app).params if p.opts and p.opts[0].startswith("--")]


def test_an_option_for_no_setting_cannot_be_made():
    with pytest.raises(ConfigError, match="did you mean retrieval.top_k"):
        setting_option("retrieval.topk", "--k", help="Passages.")


def test_global_options_land_on_their_settings(tmp_path):
    seen = {}

    def probe(ctx: typer.Context) -> None:  # a throwaway command: what did the global options make?
        seen["settings"] = ctx.obj["settings"]

    app.command("settings-probe", hidden=True)(probe)
    try:
        result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "--vllm-url", "http://gpu:8000/v1",
                                          "--dimensions", "256", "--chroma-port", "9000", "--set",
                                          "retrieval.top_k=3", "settings-probe"])
    finally:
        app.registered_commands.pop()
    assert result.exit_code == 0, result.output
    settings = seen["settings"]
    assert settings.data_dir == Path(tmp_path) and settings.embedding.base_url == "http://gpu:8000/v1"
    assert settings.embedding.dimensions == 256 and settings.store.chroma_port == 9000
    assert settings.retrieval.top_k == 3


# -- the front door ---------------------------------------------------------------------------------
FRONT_DOOR = {"scholargraph.library", "scholargraph.settings", "scholargraph.setting_keys", "scholargraph.errors",
              "scholargraph.models"}
# Commands that run a whole program over a Library rather than read it: the chat loop, the evaluations, the
# reference-manager importers. They take the Library as their argument; no command reaches past it.
PROGRAMS = ("scholargraph.chat_session", "scholargraph.evaluation.", "scholargraph.library_io.bib_import",
            "scholargraph.library_io.zotero", "scholargraph.faces.")


def test_cli_imports_the_engine_only_through_its_front_door():
    import ast

    import scholargraph.faces.cli as cli

    reached = set()
    for module in Path(cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scholargraph"):
                reached.add((module.name, node.module))
            elif isinstance(node, ast.Import):
                reached.update((module.name, a.name) for a in node.names if a.name.startswith("scholargraph"))
    past_the_door = sorted((name, target) for name, target in reached
                           if target not in FRONT_DOOR and not target.startswith(PROGRAMS))
    assert past_the_door == []
    assert all(not target.startswith(("scholargraph.graph", "scholargraph.chroma", "scholargraph.retrieval",
                                      "scholargraph.embedding", "scholargraph.ingest")) for _, target in reached)
