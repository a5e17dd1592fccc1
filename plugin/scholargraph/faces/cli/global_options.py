"""The CLI's global options (before the command name), generated from the settings model.

``GLOBAL_OPTIONS`` names, for each flag, the setting it sets; the option's type and help come
from that field (its description is what ``--help`` prints, as it is what Valves show), so an
option cannot drift from its setting. ``--set group.field=value`` reaches every other setting.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, Optional

import typer

from scholargraph.faces.cli.command_kit import setting_option
from scholargraph.faces.cli.terminal import err
from scholargraph.setting_keys import env_name, field_info, value_type
from scholargraph.settings import Settings

# flag -> the setting it sets (the flags predate the generation: kept as users know them)
GLOBAL_OPTIONS: dict[str, str] = {
    "--data-dir": "data_dir",
    "--embedding-backend": "embedding.backend",
    "--vllm-url": "embedding.base_url",
    "--embedding-model": "embedding.model",
    "--dimensions": "embedding.dimensions",
    "--chroma-host": "store.chroma_host",
    "--chroma-port": "store.chroma_port",
    "--graph-url": "graph.database_url",
}

SET_OPTION = typer.Option(
    None, "--set", metavar="KEY=VALUE",
    help="Any setting by its dotted name, e.g. --set retrieval.hybrid_alpha=0.5 (JSON values: "
    "numbers, true/false, {...}). Repeat for several. The env var is SCHOLARGRAPH_ + KEY with . as __.",
)


def _parameter(flag: str, dotted: str) -> inspect.Parameter:
    """``--vllm-url`` as a keyword parameter ``embedding__base_url: Optional[str] = <option>``."""
    info = field_info(Settings, dotted)
    help_text = f"{(info.description or '').rstrip('.')} (setting {dotted}, env {env_name(dotted)})."
    option = setting_option(dotted, flag, help=help_text, show_default=False)
    return inspect.Parameter(dotted.replace(".", "__"), inspect.Parameter.KEYWORD_ONLY, default=option,
                             annotation=Optional[value_type(info)])


def main(ctx: typer.Context, set_: Optional[list[str]] = None, **options: Any) -> None:
    """Global options; each maps onto one field of the settings model."""
    try:
        overrides = {name.replace("__", "."): value for name, value in options.items()}
        settings = Settings().with_overrides({**parse_sets(set_ or []), **overrides})
    except Exception as exc:
        err.print(f"[red]error:[/red] invalid settings: {exc}")
        raise typer.Exit(2)
    ctx.obj = {"settings": settings}
    ctx.call_on_close(lambda: ctx.obj.get("library") and ctx.obj["library"].close())


_PARAMETERS = [
    inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
    *(_parameter(flag, dotted) for flag, dotted in GLOBAL_OPTIONS.items()),
    inspect.Parameter("set_", inspect.Parameter.KEYWORD_ONLY, default=SET_OPTION, annotation=Optional[list[str]]),
]
main.__signature__ = inspect.Signature(_PARAMETERS, return_annotation=None)  # type: ignore[attr-defined]
main.__annotations__ = {p.name: p.annotation for p in _PARAMETERS} | {"return": None}


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as dotted overrides; VALUE is JSON when it parses, else a string."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE, e.g. retrieval.top_k=12")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out
