"""Files -> Paper: metadata, sections with pages, and the reference list (see docs/parsing.md).

``parse_file`` is the only entry point other packages need; it is a plain top-level function
so a ProcessPoolExecutor can run it.
"""

from scholargraph.parsing.pipeline import ParseStats, parse_file, parse_file_with_stats
from scholargraph.parsing.validate import SUPPORTED_SUFFIXES

__all__ = ["parse_file", "parse_file_with_stats", "ParseStats", "SUPPORTED_SUFFIXES"]
