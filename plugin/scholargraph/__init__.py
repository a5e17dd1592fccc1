"""ScholarGraph: graph-aware, cross-lingual retrieval over a researcher's own paper library."""

from scholargraph.offline import configure_offline

configure_offline()

__version__ = "0.1.0"
