"""Zotero import from its local data folder: ``zotero.sqlite`` plus the PDFs under ``storage/``.

Zotero keeps the database open (and locked) while it runs, so it is copied first and the copy
is opened read-only; nothing is ever written to the user's Zotero folder. Each regular item
becomes a ``BibEntry`` (Zotero's title, creators, date, DOI, arXiv id, abstract, tags win over
what the parser guesses) with its first PDF attachment (imported into ``storage/<key>/`` or
linked by path), and goes through the same import path as a BibTeX entry (``bib_import``).

Scopes: every item joins the knowledge base ``kb``; an item in a collection also joins
``kb/Collection/Sub`` for each collection it is in. A re-import is incremental: an item whose
``version`` and ``dateModified`` (and those of its attachments) are unchanged is left alone;
items gone from Zotero, or in its trash, leave the scopes (and the library, when nothing else
holds them); an item taken out of a collection leaves that collection's scope. ``sync_items``
does this for any list of items, so the API import (``zotero_api``) shares it.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, delete, or_, select

from scholargraph.errors import ScholarGraphError
from scholargraph.graph.database import upsert
from scholargraph.graph.keys import normalise_doi
from scholargraph.graph.schema import metadata
from scholargraph.library_io.bib_import import ImportReport, _differs, held_keys, import_entries
from scholargraph.library_io.entries import BibEntry, arxiv_from, year_from
from scholargraph.library_io.records import _EXTRA_TABLES, ensure_table

if TYPE_CHECKING:  # a type only: library_io runs over a Library and is imported by it
    from scholargraph.library import Library

# Which Zotero item (by library and key) a scope holds as which paper, and at which state.
zotero_items = Table(
    "zotero_items",
    metadata,
    Column("scope", String(255), primary_key=True),
    Column("item", String(64), primary_key=True),  # "<libraryID>/<key>"
    Column("paper_id", String(64), ForeignKey("papers.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(255), nullable=False),  # versions and dates of the item and its attachments
    Column("imported_at", DateTime(timezone=True), nullable=False),
)

_EXTRA_TABLES.append(zotero_items)

SKIPPED_TYPES = {"attachment", "note", "annotation"}
_TYPES = {"journalArticle": "article", "conferencePaper": "inproceedings", "preprint": "misc", "book": "book",
          "bookSection": "incollection", "thesis": "phdthesis", "report": "techreport"}
_CITATION_KEY = re.compile(r"^\s*Citation Key:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
IMPORTED_FILE, IMPORTED_URL, LINKED_FILE = 0, 1, 2


@dataclass
class ZoteroItem:
    """One regular Zotero item: its entry, the collections (paths) holding it, and its state."""

    item: str
    entry: BibEntry
    collections: list[str] = field(default_factory=list)
    state: str = ""


@dataclass
class ZoteroReport(ImportReport):
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # "scope: item" pairs that left

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "unchanged": self.unchanged, "removed": self.removed}

    def summary(self) -> str:
        return super().summary() + f", {len(self.unchanged)} unchanged, {len(self.removed)} removed"


def read_zotero(data_dir: str | Path, linked_base: Path | None = None) -> list[ZoteroItem]:
    """The regular items of a Zotero data folder (not in the trash), read from a copy of its database."""
    folder = Path(data_dir).expanduser()
    database = folder / "zotero.sqlite"
    if not database.is_file():
        raise ScholarGraphError(f"{folder}: no zotero.sqlite here; give Zotero's data folder "
                                "(Zotero → Settings → Advanced → Files and Folders → Data Directory Location)")
    with tempfile.TemporaryDirectory(prefix="scholargraph-zotero-") as tmp:
        copy = Path(tmp) / "zotero.sqlite"
        for suffix in ("", "-wal", "-journal"):  # a running Zotero may have changes in its journal
            if Path(f"{database}{suffix}").is_file():
                shutil.copyfile(f"{database}{suffix}", f"{copy}{suffix}")
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            return _read(conn, folder, linked_base)
        except sqlite3.Error as exc:
            raise ScholarGraphError(f"{database}: cannot read it as a Zotero database ({exc})") from exc
        finally:
            conn.close()


def _table(conn: sqlite3.Connection, combined: str, plain: str) -> str:
    """Zotero 5+ reads field and type names through '...Combined' views (custom ones included)."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (combined,)).fetchone()
    return combined if found else plain


def _read(conn: sqlite3.Connection, folder: Path, linked_base: Path | None) -> list[ZoteroItem]:
    types = _table(conn, "itemTypesCombined", "itemTypes")
    fields_table = _table(conn, "fieldsCombined", "fields")
    rows = conn.execute(f"""
        SELECT i.itemID, i.libraryID, i.key, i.version, i.dateModified, t.typeName
        FROM items i JOIN {types} t ON t.itemTypeID = i.itemTypeID
        WHERE i.itemID NOT IN (SELECT itemID FROM deletedItems)
        ORDER BY i.itemID""").fetchall()
    fields: dict[int, dict[str, str]] = {}
    for item_id, name, value in conn.execute(f"""
            SELECT d.itemID, f.fieldName, v.value FROM itemData d
            JOIN {fields_table} f ON f.fieldID = d.fieldID JOIN itemDataValues v ON v.valueID = d.valueID"""):
        fields.setdefault(item_id, {})[name] = str(value)
    creators: dict[int, list[str]] = {}
    for item_id, first, last, mode in conn.execute("""
            SELECT ic.itemID, c.firstName, c.lastName, c.fieldMode FROM itemCreators ic
            JOIN creators c ON c.creatorID = ic.creatorID ORDER BY ic.itemID, ic.orderIndex"""):
        name = (last or "") if mode == 1 else " ".join(p for p in (first, last) if p)  # 1: single field
        if name.strip():
            creators.setdefault(item_id, []).append(name.strip())
    tags: dict[int, list[str]] = {}
    for item_id, name in conn.execute("SELECT it.itemID, t.name FROM itemTags it JOIN tags t ON t.tagID = it.tagID"):
        tags.setdefault(item_id, []).append(name)
    keys = {item_id: (library_id, key, version, modified) for item_id, library_id, key, version, modified, _ in rows}
    attachments: dict[int, list[tuple[Path | None, str]]] = {}
    standalone: list[int] = []
    for item_id, parent, mode, content_type, path in conn.execute(
            "SELECT itemID, parentItemID, linkMode, contentType, path FROM itemAttachments ORDER BY itemID"):
        if item_id not in keys:
            continue  # in the trash
        library_id, key, version, modified = keys[item_id]
        file = _attachment_path(folder, key, mode, path, linked_base) if _is_pdf(content_type, path) else None
        if parent is None:
            if file is not None:
                standalone.append(item_id)
                attachments[item_id] = [(file, f"{version}@{modified}")]
            continue
        attachments.setdefault(parent, []).append((file, f"{key}:{version}@{modified}"))
    collections = _collection_paths(conn)
    member: dict[int, list[str]] = {}
    for collection_id, item_id in conn.execute("SELECT collectionID, itemID FROM collectionItems"):
        if collection_id in collections:
            member.setdefault(item_id, []).append(collections[collection_id])

    out = []
    for item_id, library_id, key, version, modified, type_name in rows:
        if type_name in SKIPPED_TYPES and item_id not in standalone:
            continue
        data = fields.get(item_id, {})
        files = attachments.get(item_id, [])
        entry = entry_from_fields(data, creators.get(item_id, []), tags.get(item_id, []), type_name,
                       [f for f, _ in files if f is not None])
        if not entry.title and item_id in standalone and entry.files:
            entry.title = entry.files[0].stem
        state = ";".join([f"{version}@{modified}", *sorted(s for _, s in files)])
        out.append(ZoteroItem(item=f"{library_id}/{key}", entry=entry, collections=sorted(member.get(item_id, [])),
                              state=state))
    return out


def entry_from_fields(data: dict[str, str], authors: list[str], tags: list[str], type_name: str, files: list[Path]) -> BibEntry:
    """An entry from Zotero's field names (the same in its database and in the API's ``data``)."""
    doi = normalise_doi(data.get("DOI")) or normalise_doi(_extra(data, "DOI"))
    extra = data.get("extra", "")
    key = _CITATION_KEY.search(extra)
    return BibEntry(
        title=data.get("title", "").strip(), authors=authors, year=year_from(data.get("date")), doi=doi,
        arxiv_id=arxiv_from(data.get("archiveID"), data.get("url"), extra, data.get("publicationTitle"), doi=doi),
        abstract=data.get("abstractNote", "").strip(), url=data.get("url"),
        venue=data.get("publicationTitle") or data.get("proceedingsTitle") or data.get("conferenceName"),
        entry_type=_TYPES.get(type_name, "misc"), key=key.group(1) if key else None, files=files, tags=tags,
    )


def _extra(data: dict[str, str], name: str) -> str | None:
    found = re.search(rf"^\s*{name}:\s*(\S+)", data.get("extra", ""), re.IGNORECASE | re.MULTILINE)
    return found.group(1) if found else None


def _is_pdf(content_type: str | None, path: str | None) -> bool:
    return content_type == "application/pdf" or bool(path and path.lower().endswith(".pdf"))


def _attachment_path(folder: Path, key: str, mode: int | None, path: str | None, linked_base: Path | None) -> Path | None:
    """Where an attachment's file is: storage/<key>/<name> for stored files, the path for linked ones."""
    if not path:
        return None
    if path.startswith("storage:"):
        return folder / "storage" / key / path[len("storage:"):]
    if path.startswith("attachments:"):  # relative to the "Linked Attachment Base Directory"
        return (linked_base / path[len("attachments:"):]) if linked_base else None
    if mode == LINKED_FILE:
        return Path(path)
    return None


def collection_tree_paths(rows: dict[Any, tuple[str, Any]]) -> dict[Any, str]:
    """Each collection's path from the top ('Reading/Toolkits'), from {id: (name, parent id)};
    the data folder keys collections by number, the API by key. A parent cycle stops the walk."""
    paths: dict[Any, str] = {}
    for cid in rows:
        parts, seen, current = [], set(), cid
        while current in rows and current not in seen:
            seen.add(current)
            name, parent = rows[current]
            parts.append(name.replace("/", "-").strip())
            current = parent
        paths[cid] = "/".join(reversed(parts))
    return paths


def _collection_paths(conn: sqlite3.Connection) -> dict[int, str]:
    """Each collection's path from the top, by collection id (the data folder's sqlite)."""
    return collection_tree_paths({cid: (name, parent) for cid, name, parent in
                                  conn.execute("SELECT collectionID, collectionName, parentCollectionID FROM collections")})


def import_zotero(library: Library, data_dir: str | Path, kb: str = "zotero", collections: bool = True,
                  linked_base: Path | None = None, progress: Callable[[str, str], None] | None = None) -> ZoteroReport:
    """Bring a Zotero data folder into ``kb`` (and ``kb/<collection>`` scopes); safe to re-run."""
    items = read_zotero(data_dir, linked_base)
    return sync_items(library, items, kb, collections=collections, progress=progress, owns=_from_folder)


def _from_folder(item: str) -> bool:
    """A data folder's items are '<libraryID>/<key>'; the API's ('users/1/KEY') are not its to remove."""
    return not item.startswith(("users/", "groups/"))


def sync_items(library: Library, items: list[ZoteroItem], kb: str, collections: bool = True,
               progress: Callable[[str, str], None] | None = None, owns: Callable[[str], bool] = lambda _: True,
               changed_only: bool = False, deleted: set[str] | frozenset[str] = frozenset(),
               prepare: Callable[[ZoteroItem], None] | None = None) -> ZoteroReport:
    """Make ``kb`` and its collection scopes hold ``items``, by their state (shared by the data-folder
    and the API import).

    ``owns``: which recorded items this import answers for. ``changed_only``: ``items`` are only
    those changed since the last sync (Zotero's ``since``), so recorded items not among them stay,
    except those in ``deleted``. ``prepare``: called before an item is imported (not when it is
    unchanged), e.g. to download its attachment."""
    graph = library.graph
    ensure_table(graph)
    wanted: dict[tuple[str, str], ZoteroItem] = {}
    for item in items:
        wanted[(kb, item.item)] = item
        if collections:
            for path in item.collections:
                wanted[(f"{kb}/{path}", item.item)] = item
    changed = {item.item for item in items}
    z = zotero_items
    ours = or_(z.c.scope == kb, z.c.scope.like(f"{_like(kb)}/%", escape="\\"))

    def read_known() -> dict[tuple[str, str], Any]:
        with graph.db.read("reading the zotero items") as conn:
            return {(r.scope, r.item): r for r in conn.execute(select(z).where(ours)) if owns(r.item)}

    def stays(scope: str, item_key: str) -> bool:
        if (scope, item_key) in wanted:
            return True
        return changed_only and item_key not in changed and item_key not in deleted

    known = read_known()
    report = ZoteroReport(format="zotero")
    held = {(scope, row.paper_id) for (scope, key), row in known.items() if stays(scope, key)}
    for (scope, item_key), row in sorted(known.items()):
        if not stays(scope, item_key):
            if (scope, row.paper_id) not in held:  # another item may hold the same file
                library.delete(row.paper_id, scope=scope)
            _forget(graph, scope, item_key)
            report.removed.append(f"{scope}: {item_key}")
            if progress:
                progress(item_key, f"removed from {scope}")
    _drop_changed(library, wanted, known)
    known = read_known()
    held_by_scope: dict[str, dict[tuple[str, str], str]] = {}  # read once per scope, kept up to date
    prepared: dict[str, str | None] = {}  # item -> why it could not be prepared
    for (scope, item_key), item in wanted.items():
        row = known.get((scope, item_key))
        if row is not None and row.state == item.state and graph.in_scope(row.paper_id, scope):
            report.unchanged.append(f"{scope}: {item_key}")
            continue
        if prepare is not None and item_key not in prepared:
            try:
                prepare(item)
                prepared[item_key] = None
            except ScholarGraphError as exc:
                prepared[item_key] = str(exc)
        if prepared.get(item_key):  # not recorded: the next import tries again
            report.failed.append((f"{scope}: {item_key}", prepared[item_key] or ""))
            if progress:
                progress(item_key, f"failed: {prepared[item_key]}")
            continue
        if scope not in held_by_scope:
            held_by_scope[scope] = held_keys(library, scope)
        got = import_entries(library, [item.entry], scope, import_format="zotero", origin=f"zotero:{item_key}",
                             held=held_by_scope[scope])
        report.notes.extend(got.notes)
        if got.failed:
            report.failed.append((f"{scope}: {item_key}", got.failed[0][1]))
            if progress:
                progress(item_key, f"failed: {got.failed[0][1]}")
            continue
        paper_id = next(iter(got.paper_ids.values()))
        if row is not None and row.paper_id != paper_id and graph.in_scope(row.paper_id, scope):
            library.delete(row.paper_id, scope=scope)  # a new PDF, or new metadata naming another work
        for status in ("added", "updated", "metadata_only", "skipped"):
            if getattr(got, status):
                getattr(report, status).append(f"{scope}: {item_key}")
                if progress:
                    progress(item_key, f"{status} in {scope}")
        report.paper_ids[f"{scope}: {item_key}"] = paper_id
        _remember(graph, scope, item_key, paper_id, item.state)
    return report


def _drop_changed(library: Library, wanted: dict[tuple[str, str], ZoteroItem], known: dict[tuple[str, str], Any]) -> None:
    """An item edited in Zotero whose paper now says something else is deleted from all of its
    scopes, to be stored again under the new metadata, when only this import's scopes hold it."""
    scopes_by_paper: dict[str, set[str]] = {}
    for (scope, _), row in known.items():
        scopes_by_paper.setdefault(row.paper_id, set()).add(scope)
    for (scope, _), item in wanted.items():
        row = known.get((scope, item.item))
        if row is None or row.state == item.state or not library.graph.has_paper(row.paper_id):
            continue
        if not item.entry.files or not _differs(library.graph.get_paper(row.paper_id), item.entry):
            continue  # a metadata-only paper is named by its metadata: a change makes a new one
        if library.graph.scopes_of(row.paper_id) <= scopes_by_paper[row.paper_id]:
            library.delete(row.paper_id)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _remember(graph: Any, scope: str, item: str, paper_id: str, state: str) -> None:
    row = {"scope": scope, "item": item, "paper_id": paper_id, "state": state, "imported_at": datetime.now(timezone.utc)}
    with graph.db.write(f"recording zotero item {item}") as conn:
        upsert(conn, zotero_items, row, ["scope", "item"])


def _forget(graph: Any, scope: str, item: str) -> None:
    with graph.db.write(f"forgetting zotero item {item}") as conn:
        conn.execute(delete(zotero_items).where(zotero_items.c.scope == scope, zotero_items.c.item == item))
