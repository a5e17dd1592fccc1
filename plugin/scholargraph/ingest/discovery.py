"""Which files an ingest takes: supported files under the paths given, and why others are refused."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from scholargraph.parsing import SUPPORTED_SUFFIXES


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Supported files under the given files and folders (recursive), plus what was refused.

    Paths stay as the user gave them (made absolute, symlinks kept), so reports use their names.
    """
    found: list[Path] = []
    refused: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts):
                    if child.suffix.lower() in SUPPORTED_SUFFIXES:
                        found.append(Path(os.path.abspath(child)))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(Path(os.path.abspath(path)))
            else:
                refused.append((str(path), f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                                f"supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}"))
        else:
            refused.append((str(path), f"{path.name}: no such file or folder"))
    return found, refused
