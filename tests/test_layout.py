"""The package's shape, which a newcomer relies on to find things (issue 15).

Modules stay small enough to read at once, no two modules share a name (so "store.py" always
means one thing), and the faces reach the engine only through its front door.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "plugin" / "scholargraph"
FACES = PACKAGE / "faces"
MAX_LINES = 400

# What a face may import from the engine: the front door (Library), settings, errors, public models
# (the passage and report types, scope names, content ids), the reader interface (parse_file) and the
# public operations that take a Library (import/export, evaluation, a chat session).
FRONT_DOOR = {
    "scholargraph",
    "scholargraph.library",
    # settings, by group, and the checked names of its fields
    "scholargraph.settings",
    "scholargraph.setting_keys",
    "scholargraph.ingest_settings",
    "scholargraph.query_settings",
    "scholargraph.face_settings",
    "scholargraph.errors",
    # public models: what Library's reads return, and the names and ids they carry
    "scholargraph.models",
    "scholargraph.ids",
    "scholargraph.language",
    "scholargraph.retrieval.results",
    "scholargraph.retrieval.context",
    "scholargraph.graph.rows",
    "scholargraph.embedding.base",
    "scholargraph.scope_names",
    "scholargraph.parsing",
    "scholargraph.chat_session",
    "scholargraph.ingest",  # the package itself: IngestReport and the readable suffixes, not its parts
}
PUBLIC_PACKAGES = ("scholargraph.library_io", "scholargraph.evaluation")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {str(p.relative_to(PACKAGE)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines: split them by role"


def test_no_two_modules_share_a_name():
    by_name: dict[str, list[str]] = defaultdict(list)
    for p in modules():
        if p.name != "__init__.py":
            by_name[p.stem].append(str(p.relative_to(PACKAGE)))
    assert {name: paths for name, paths in by_name.items() if len(paths) > 1} == {}


def engine_imports(path: Path) -> set[str]:
    """Engine modules a face imports (``from scholargraph.x import y`` counts as x.y when y is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists() or (
                        PACKAGE.parent / candidate.replace(".", "/")).is_dir():
                    names = [candidate]
                    break
        else:
            continue
        found |= {n for n in names if n.startswith("scholargraph") and not n.startswith("scholargraph.faces")}
    return found


@pytest.mark.parametrize("face", sorted(str(p.relative_to(PACKAGE)) for p in FACES.rglob("*.py")))
def test_faces_use_only_the_front_door(face: str):
    private = {m for m in engine_imports(PACKAGE / face) - FRONT_DOOR if not m.startswith(PUBLIC_PACKAGES)}
    assert private == set(), "faces reach the engine through Library, settings, errors and public models"
