"""Ingest: files -> parsed papers -> chunks -> vectors -> vector store + graph.

Idempotent by content hash (a file already in the scope is skipped; one already in another
scope is copied without re-embedding). Parsing runs beside embedding (``parse_stage``). Each
paper commits whole or not at all (``commit``): vectors are written first and removed again if
the graph transaction fails, and the graph row is the commit record that every read checks.
The ingestor takes the parts it writes through as typed ports (``scholargraph.ingest.ingest_parts``), never
the ``Library`` that wires them.

- ``discovery``: which files a run takes, and why others are refused;
- ``parse_stage``: files to parsed papers, in a thread or worker processes;
- ``commit``: one paper into the vector store and the graph, with its rollback;
- ``ingestor``: the run (skip, copy, parse, commit) and ``add_parsed``;
- ``report``: the progress events and the report every face shows.
"""

from scholargraph.ingest.discovery import discover
from scholargraph.ingest.ingestor import Ingestor
from scholargraph.ingest.report import FileProgress, IngestEvent, IngestReport
from scholargraph.parsing import SUPPORTED_SUFFIXES

__all__ = ["SUPPORTED_SUFFIXES", "FileProgress", "IngestEvent", "IngestReport", "Ingestor", "discover"]
