"""Bringing a library in and taking it out: a paper's full record (``show``), citation export
(BibTeX, RIS, CSL-JSON), the reading list drawn from the library's own references, and import
from reference managers (BibTeX, RIS, CSL-JSON files; a Zotero data folder).

The faces (CLI, service) call these functions and format their results; nothing here prints.
"""
