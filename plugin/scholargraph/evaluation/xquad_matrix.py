"""The XQuAD-R matrix: every question-paragraph language pair under every query-instruction style.

Each cell gets a library of its own (a temporary folder, removed after), so styles never share
vectors; the first style runs every requested mode, the others dense only (the comparison that
matters across styles is the embedding's). ``scholargraph eval xquad`` prints what this returns.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scholargraph.evaluation.datasets import load_xquad
from scholargraph.evaluation.retrieval_eval import evaluate
from scholargraph.settings import Settings


def xquad_matrix(settings: Settings, folder: Path, pairs: Sequence[str], styles: Sequence[str],
                 modes: Sequence[str], limit: int | None = None) -> list[dict[str, Any]]:
    """One result per (style, pair), style by style: ``evaluate``'s metrics plus the instruction style the
    embedder resolved (``auto`` names the convention it picked). ``pairs`` are "zh-en"-style strings:
    question language, then paragraph language."""
    from scholargraph.library import Library  # a client of the front door, as the faces are

    results = []
    for style in styles:
        chosen = tuple(modes) if style == styles[0] else ("dense",)
        for pair in pairs:
            question_lang, paragraph_lang = pair.split("-")
            with tempfile.TemporaryDirectory(prefix="scholargraph-eval-", ignore_cleanup_errors=True) as folder_:
                library = Library(settings.with_overrides({"data_dir": folder_, "embedding.instruction_style": style}))
                try:
                    result = evaluate(library, load_xquad(folder, question_lang, paragraph_lang, limit), chosen)
                    result["instruction_style"] = library.embedder.instruction_style
                finally:
                    library.close()
            results.append(result)
    return results
