"""`python -m scholargraph`: the same command line as the `scholargraph` script."""

from scholargraph.faces.cli import app

app(prog_name="scholargraph")
