"""`scholargraph` command line: a thin face over ``Library``.

Global options map onto the one settings model (``global_options``); everything else comes from
``SCHOLARGRAPH_*`` environment variables. Listings take ``--json`` for scripts. This module is the
table of contents: each command lives in the module of its group and is registered here, in the
order ``--help`` lists them.
"""

from __future__ import annotations

from scholargraph.faces.cli import (
    eval_commands, global_options, ingest_commands, library_commands, question_commands, service_commands,
)
from scholargraph.faces.cli.command_kit import CommandGroup

app = CommandGroup(help="ScholarGraph: graph-aware, cross-lingual RAG over your paper library.", no_args_is_help=True)
app.callback()(global_options.main)

app.command()(ingest_commands.ingest)
app.command()(library_commands.papers)
app.command()(library_commands.graph)
app.command()(library_commands.delete)
app.command()(service_commands.upgrade)
app.command()(service_commands.doctor)
app.command()(library_commands.stats)
app.command()(question_commands.search)
app.command()(question_commands.ask)
app.command()(question_commands.chat)
app.add_typer(eval_commands.eval_app, name="eval")
app.command()(library_commands.show)
app.command("export")(library_commands.export_citations)
app.command("reading-list")(library_commands.reading_list_command)
app.command("import")(ingest_commands.import_command)
app.command()(service_commands.serve)

__all__ = ["app"]
