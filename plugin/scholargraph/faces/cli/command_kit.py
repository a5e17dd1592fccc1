"""What the command modules share: the Typer classes, the options several commands take, and the
library a command opens (once, lazily, so listings start without a model)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Optional, TypeVar

import typer
from typer.core import TyperCommand

from scholargraph.setting_keys import field_info
from scholargraph.settings import Settings

if TYPE_CHECKING:
    from scholargraph.library import Library


CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


class _Command(TyperCommand):
    """Usage lines name arguments as QUESTION, PATHS... rather than typer's {question}."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [p[1:].replace("}", "").upper() if p.startswith("{") else p for p in super().collect_usage_pieces(ctx)]


class CommandGroup(typer.Typer):
    """Every command of the CLI (and its sub-apps) gets the plain usage line of ``_Command``."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Callable[[CommandFunction], CommandFunction]:
        register: Callable[[CommandFunction], CommandFunction] = super().command(*args, cls=cls or _Command, **kwargs)
        return register


KB_HELP = "Knowledge base (scope) to work in."


def setting_default(key: str, labels: dict[Any, str] | None = None) -> str:
    """A settings default for ``show_default``: options left unset fall back to the settings
    (env vars and --set can change them), so help names the setting too."""
    value = field_info(Settings, key).default
    return f"{(labels or {}).get(value, value)} from {key}"


_SETTING_OPTIONS: dict[int, str] = {}  # id of an option -> the setting it stands for


def setting_option(dotted: str, *flags: str, help: str, default: Any = None, **kwargs: Any) -> Any:
    """An option that stands for one setting: left unset (None) the setting stays as the environment and
    --set made it. The setting must exist (a ConfigError naming the closest one, so the CLI cannot start
    with a stale name); tests/test_cli_options.py checks the option's type is the field's. Help names the
    setting when its text does not already."""
    field_info(Settings, dotted)
    shown = kwargs.get("show_default")
    if dotted not in help and not (isinstance(shown, str) and dotted in shown):
        help = f"{help} (setting {dotted})"
    option = typer.Option(default, *flags, help=help, **kwargs)
    _SETTING_OPTIONS[id(option)] = dotted
    return option


def setting_of(option: object) -> str | None:
    """The setting an option made by ``setting_option`` stands for; None for any other option."""
    return _SETTING_OPTIONS.get(id(option))


# Options several commands share (typer reads these as read-only descriptions).
KBS_OPTION = typer.Option(None, "--kb", help=KB_HELP + " Repeat for several. Default: all.")
K_OPTION = setting_option("retrieval.top_k", "--k", help="Passages to retrieve.",
                          show_default=setting_default("retrieval.top_k"))
HOPS_OPTION = setting_option("retrieval.hops", "--hops", help="Graph hops to expand (0 = none).",
                             show_default=setting_default("retrieval.hops"))
HYBRID_OPTION = setting_option("retrieval.hybrid", "--hybrid/--dense", help="Fuse BM25 with vectors.",
                               show_default=setting_default("retrieval.hybrid", {True: "hybrid", False: "dense"}))
LLM_URL_OPTION = setting_option("llm.base_url", "--llm-url", help="OpenAI-compatible chat LLM base URL (llm.base_url).")
LLM_MODEL_OPTION = setting_option("llm.model", "--llm-model", help="Chat model name (llm.model).")


def settings_of(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj["settings"]
    return settings


def library_of(ctx: typer.Context) -> Library:
    """The command's library, opened on first use and closed when the command ends (see ``main``)."""
    from scholargraph.library import Library

    if "library" not in ctx.obj:
        ctx.obj["library"] = Library(settings_of(ctx))
    library: Library = ctx.obj["library"]
    return library


def fresh_library(ctx: typer.Context, data_dir: Optional[Path], overrides: dict[str, Any] | None = None) -> Library:
    """Evaluation sets go into their own library (a temp dir unless given), never the user's."""
    from scholargraph.library import Library

    folder = data_dir or Path(tempfile.mkdtemp(prefix="scholargraph-eval-"))
    settings = settings_of(ctx).with_overrides({"data_dir": str(folder), **(overrides or {})})
    return Library(settings)
