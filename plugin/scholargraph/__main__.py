"""`python -m scholargraph`: the same command line as the `scholargraph` script."""

from scholargraph.cli import app

app(prog_name="scholargraph")
