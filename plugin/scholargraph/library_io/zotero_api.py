"""Zotero import through the Zotero Web API v3: api.zotero.org (a user or group library, with a
key) or Zotero 7's local API (the running desktop app at 127.0.0.1:23119/api, no key).

Spoken with httpx, not pyzotero: pyzotero's only release (1.16) pins ``bibtexparser<2`` (our BibTeX
reader is bibtexparser 2) and needs ``httpx2``; the API is plain JSON over HTTP, which httpx
(already a dependency) and ``scholargraph.retry`` (tenacity, like every server client here)
cover in a page of code.

What it does, and why:
- every request carries ``Zotero-API-Version: 3`` and, for the web, ``Zotero-API-Key`` (a header,
  never a URL parameter, so the key stays out of logs); lists are paged with ``start``/``limit``
  until the ``Link: rel="next"`` header or ``Total-Results`` says the end;
- 429 and 5xx are retried with backoff, waiting what ``Retry-After`` or ``Backoff`` asks; a
  ``Backoff`` on a good answer pauses the next request; in the end an error names the server;
- incremental: the library's ``Last-Modified-Version`` is kept per knowledge base; the next import
  asks only ``?since=<version>`` (items changed, trashed ones included to see them go) and
  ``/deleted?since=`` (items removed); a change to the collections makes it a full pass, since an
  item's version does not move when its collection is renamed;
- items map to entries, collections to scopes, and state to re-imports exactly as a data-folder
  import does (``zotero.entry_from_fields``, ``zotero.sync_items``); a PDF attachment stored in
  Zotero (``imported_file``/``imported_url``) is downloaded through ``/items/{key}/file`` into a
  temporary folder only when its item is (re)imported, and checked against its md5. The local API
  answers ``/file`` with a redirect to a ``file://`` URL, read directly; the web one with a
  redirect to storage, fetched without the key. Linked files are read where they lie, if there.
"""

from __future__ import annotations


import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import httpx
from sqlalchemy import Column, DateTime, Integer, String, Table, select

from scholargraph.errors import ScholarGraphError
from scholargraph.retry import Retry, RetryPolicy, server_wait_s
from scholargraph.graph.database import upsert
from scholargraph.graph.schema import metadata
from scholargraph.library_io.records import _EXTRA_TABLES, ensure_table
from scholargraph.library_io.zotero import (
    SKIPPED_TYPES,
    ZoteroItem,
    ZoteroReport,
    collection_tree_paths,
    entry_from_fields,
    sync_items,
)
from scholargraph.settings import ZoteroSettings

if TYPE_CHECKING:  # a type only: library_io runs over a Library and is imported by it
    from scholargraph.library import Library

# The library version each knowledge base was last synced at, per API library.
zotero_libraries = Table(
    "zotero_libraries",
    metadata,
    Column("scope", String(255), primary_key=True),
    Column("library", String(255), primary_key=True),  # "web:users/123", "local:users/0"
    Column("version", Integer, nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False),
)
_EXTRA_TABLES.append(zotero_libraries)

PAGE = 100  # the API's largest page
STORED_MODES = {"imported_file", "imported_url"}


class ZoteroAPIError(ScholarGraphError):
    """The Zotero API refused or failed; the message names the server and what to do."""


class ZoteroAPI:
    """A read-only client of one Zotero library (``users/<id>`` or ``groups/<id>``)."""

    def __init__(self, settings: ZoteroSettings, api: str | None = None, library: str | None = None,
                 key: str | None = None) -> None:
        self.api = api or settings.api
        if self.api not in ("local", "web"):
            raise ZoteroAPIError(f"unknown Zotero API {self.api!r}: use 'local' or 'web'")
        self.base = (settings.local_url if self.api == "local" else settings.web_url).rstrip("/")
        self.library = (library or settings.library or "users/0").strip("/")
        if not self.library.startswith(("users/", "groups/")) or not self.library.split("/", 1)[1].isdigit():
            raise ZoteroAPIError(f"Zotero library {self.library!r}: give 'users/<userID>' or 'groups/<groupID>'")
        key = key if key is not None else settings.api_key
        if self.api == "web" and not key:
            raise ZoteroAPIError(f"{self.base}: the Zotero Web API needs a key (zotero.org → Settings → Security), "
                                 "e.g. env SCHOLARGRAPH_ZOTERO__API_KEY or --set zotero.api_key=...")
        headers = {"Zotero-API-Version": "3"}
        if key:
            headers["Zotero-API-Key"] = key
        self.settings = settings
        self.client = httpx.Client(base_url=f"{self.base}/{self.library}", headers=headers,
                                   timeout=settings.timeout_s, follow_redirects=False)
        self._pause_until = 0.0

    @property
    def library_key(self) -> str:
        """The synced library as ``zotero_libraries.library`` names it: ``api:library``."""
        return f"{self.api}:{self.library}"

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "ZoteroAPI":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    # -- requests ------------------------------------------------------------------------------
    def get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """One GET, retried on 429/5xx/dropped connections; a 4xx is an error at once."""
        policy = RetryPolicy.of(f"Zotero request {self.base}/{self.library}{path}", self.settings.max_retries,
                                self.settings.backoff_s)
        try:
            return policy.retrying()(self._get_once, path, params)
        except Retry as exc:
            raise ZoteroAPIError(f"{self.base}: {exc} after {policy.attempts} tries; "
                                 "try again later (zotero.max_retries, zotero.backoff_s)") from None

    def _get_once(self, path: str, params: dict[str, Any] | None) -> httpx.Response:
        pause = self._pause_until - time.monotonic()
        if pause > 0:  # the server asked for a break (Backoff)
            time.sleep(pause)
        try:
            response = self.client.get(path, params=params)
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.ConnectError) and self.api == "local":
                raise ZoteroAPIError(f"{self.base}: Zotero does not answer ({exc}); start Zotero 7 and tick "
                                     "Settings → Advanced → 'Allow other applications on this computer to "
                                     "communicate with Zotero'") from exc
            raise Retry(f"{type(exc).__name__}: {exc}") from exc
        backoff = server_wait_s(response.headers.get("Backoff"))
        if backoff:
            self._pause_until = time.monotonic() + backoff
        status = response.status_code
        if status == 429 or status >= 500:
            raise Retry(f"HTTP {status} on {path}", server_wait_s(response.headers.get("Retry-After")) or backoff)
        if status in (401, 403):
            raise ZoteroAPIError(f"{self.base}/{self.library}: access refused (HTTP {status}); check the key "
                                 "(zotero.api_key) and that it may read this library and its files")
        if status == 404:
            raise ZoteroAPIError(f"{self.base}/{self.library}{path}: not found (HTTP 404); check zotero.library")
        if status >= 400:
            raise ZoteroAPIError(f"{self.base}/{self.library}{path}: HTTP {status}: {response.text[:200]}")
        return response

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[httpx.Response]:
        """Every page of a list: ``start``/``limit`` until ``Link: rel=next`` / ``Total-Results`` end."""
        start = 0
        while True:
            response = self.get(path, {**(params or {}), "start": start, "limit": PAGE})
            got = response.json()
            yield response
            start += len(got)
            total = response.headers.get("Total-Results")
            more = "next" in response.links if "link" in response.headers else (total is not None and start < int(total))
            if not got or not more:
                return

    def items(self, since: int | None = None, keys: list[str] | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """Items (attachments included, trashed ones marked ``deleted``) and the library's version."""
        params: dict[str, Any] = {"includeTrashed": 1}
        if since is not None:
            params["since"] = since
        if keys:
            params["itemKey"] = ",".join(keys)
        out: list[dict[str, Any]] = []
        version = None
        for response in self.pages("/items", params):
            if version is None:  # the first page's: a change while paging is caught next time
                version = _version(response)
            out.extend(response.json())
        return out, version

    def children(self, key: str) -> list[dict[str, Any]]:
        return [c for r in self.pages(f"/items/{key}/children") for c in r.json()]

    def collections(self) -> list[dict[str, Any]]:
        return [c for r in self.pages("/collections") for c in r.json()]

    def deleted(self, since: int) -> dict[str, list[str]]:
        return self.get("/deleted", {"since": since}).json()

    def download(self, key: str, folder: Path, filename: str, md5: str | None) -> Path:
        """An attachment's stored file, into ``folder``; checked against Zotero's md5."""
        response = self.get(f"/items/{key}/file")
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location", "")
            if location.startswith("file:"):  # the local API points at Zotero's storage folder
                path = Path(url2pathname(unquote(urlparse(location).path)))
                if not path.is_file():
                    raise ZoteroAPIError(f"{self.base}: attachment {key} points at {path}, which is not there")
                body = path.read_bytes()
            else:  # the web API points at its file storage; the key is not for it
                try:
                    got = httpx.get(location, timeout=self.settings.timeout_s, follow_redirects=True)
                    got.raise_for_status()
                except httpx.HTTPError as exc:
                    raise ZoteroAPIError(f"{self.base}: attachment {key}: download failed ({exc})") from exc
                body = got.content
        else:
            body = response.content
        if md5 and hashlib.md5(body).hexdigest() != md5:
            raise ZoteroAPIError(f"{self.base}: attachment {key}: the file's md5 is not Zotero's ({md5}); "
                                 "import again once Zotero has synced it")
        target = folder / key / (Path(filename).name or f"{key}.pdf")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return target


def _version(response: httpx.Response) -> int | None:
    value = response.headers.get("Last-Modified-Version")
    return int(value) if value and value.isdigit() else None


# -- items -> entries ------------------------------------------------------------------------------
def collection_paths(collections: list[dict[str, Any]]) -> dict[str, str]:
    """Each collection's path from the top ('Reading/HCI'), by collection key."""
    return collection_tree_paths({c["key"]: (c.get("data", c).get("name", ""),
                                             c.get("data", c).get("parentCollection") or None)
                                  for c in collections})


def _authors(data: dict[str, Any]) -> list[str]:
    out = []
    for c in data.get("creators") or []:
        name = c.get("name") or " ".join(p for p in (c.get("firstName"), c.get("lastName")) if p)
        if name and name.strip():
            out.append(name.strip())
    return out


def _is_pdf(data: dict[str, Any]) -> bool:
    return data.get("contentType") == "application/pdf" or str(data.get("filename") or data.get("path") or "").lower().endswith(".pdf")


def to_items(api: ZoteroAPI, raw: list[dict[str, Any]], paths: dict[str, str], folder: Path
             ) -> tuple[list[ZoteroItem], set[str], dict[str, Callable[[], Path]]]:
    """(items, keys of trashed ones, a download per planned file) from the API's item objects."""
    by_parent: dict[str, list[dict[str, Any]]] = {}
    trashed: set[str] = set()
    for obj in raw:
        data = obj.get("data", {})
        if data.get("deleted"):
            trashed.add(f"{api.library}/{obj['key']}")
        elif data.get("itemType") == "attachment" and data.get("parentItem"):
            by_parent.setdefault(data["parentItem"], []).append(obj)
    items: list[ZoteroItem] = []
    fetches: dict[str, Callable[[], Path]] = {}
    for obj in raw:
        data = obj.get("data", {})
        kind = data.get("itemType", "")
        if data.get("deleted") or (kind in SKIPPED_TYPES and not (kind == "attachment" and not data.get("parentItem")
                                                                   and _is_pdf(data))):
            continue
        files: list[Path] = []
        attachments = [obj] if kind == "attachment" else by_parent.get(obj["key"], [])
        states = []
        for att in sorted(attachments, key=lambda a: a["key"]):
            adata = att.get("data", {})
            states.append(f"{att['key']}:{att.get('version', adata.get('version'))}")
            if not _is_pdf(adata) or files:
                continue
            mode = adata.get("linkMode")
            if mode in STORED_MODES:
                target = folder / att["key"] / Path(adata.get("filename") or f"{att['key']}.pdf").name
                fetches[str(target)] = partial(api.download, att["key"], folder, adata.get("filename") or "",
                                               adata.get("md5"))
                files.append(target)
            elif mode == "linked_file" and adata.get("path"):
                files.append(Path(adata["path"]).expanduser())
        fields = {k: str(v) for k, v in data.items() if isinstance(v, (str, int)) and not isinstance(v, bool)}
        tags = [t["tag"] for t in data.get("tags") or [] if t.get("tag")]
        entry = entry_from_fields(fields, _authors(data), tags, kind, files)
        if not entry.title and kind == "attachment" and files:
            entry.title = files[0].stem
        version = obj.get("version", data.get("version"))
        state = ";".join([f"{version}@{data.get('dateModified', '')}", *states])
        items.append(ZoteroItem(item=f"{api.library}/{obj['key']}", entry=entry, state=state,
                                collections=sorted({paths[c] for c in data.get("collections") or [] if c in paths})))
    return items, trashed, fetches


# -- the import ------------------------------------------------------------------------------------
def import_zotero_api(library: Library, kb: str = "zotero", api: str | None = None, zotero_library: str | None = None,
                      key: str | None = None, collections: bool = True, full: bool = False,
                      progress: Callable[[str, str], None] | None = None) -> ZoteroReport:
    """Bring a Zotero library into ``kb`` (and ``kb/<collection>`` scopes) through its API; the
    next run asks only what changed since (``full``: read everything again)."""
    graph = library.graph
    ensure_table(graph)
    with graph.db.write("creating the zotero_libraries table") as conn:  # a graph ensured before this module
        zotero_libraries.create(conn, checkfirst=True)
    with ZoteroAPI(library.settings.zotero, api, zotero_library, key) as client:
        since = None if full else _synced(graph, kb, client.library_key)
        raw_collections = client.collections()
        paths = collection_paths(raw_collections)
        deleted: set[str] = set()
        if since is not None:
            gone = client.deleted(since)
            moved = any(int(c.get("version", 0)) > since for c in raw_collections)
            if moved or gone.get("collections"):
                since = None  # a collection renamed, moved or deleted: its items did not change version
            else:
                deleted = {f"{client.library}/{k}" for k in gone.get("items") or []}
        raw, version = client.items(since)
        if since is not None:
            raw = _with_relatives(client, raw)
        with tempfile.TemporaryDirectory(prefix="scholargraph-zotero-api-") as tmp:
            items, trashed, fetches = to_items(client, raw, paths, Path(tmp))

            def prepare(item: ZoteroItem) -> None:
                for path in item.entry.files:
                    if str(path) in fetches and not path.is_file():
                        if progress:
                            progress(item.item, "downloading its file")
                        fetches[str(path)]()

            prefix = f"{client.library}/"
            report = sync_items(library, items, kb, collections=collections, progress=progress,
                                owns=lambda i: i.startswith(prefix), changed_only=since is not None,
                                deleted=deleted | trashed, prepare=prepare)
        report.format = f"zotero-{client.api}"
        if version is not None and not report.failed:  # a failed item is asked again next time
            _remember_version(graph, kb, client.library_key, version)
        return report


def _with_relatives(client: ZoteroAPI, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changed items with what an item is made of: the parent of a changed attachment, the
    attachments of a changed parent (their versions do not move together)."""
    have = {o["key"] for o in raw}
    parents = sorted({o["data"]["parentItem"] for o in raw
                      if o.get("data", {}).get("parentItem") and o["data"]["parentItem"] not in have})
    out = list(raw)
    for i in range(0, len(parents), 50):  # itemKey takes up to 50 keys
        got, _ = client.items(keys=parents[i:i + 50])
        out.extend(got)
    for obj in list(out):
        data = obj.get("data", {})
        if not data.get("parentItem") and data.get("itemType") not in SKIPPED_TYPES and not data.get("deleted"):
            out.extend(client.children(obj["key"]))
    return list({o["key"]: o for o in out}.values())


def _synced(graph: Any, kb: str, library_key: str) -> int | None:
    t = zotero_libraries
    with graph.db.read("reading the zotero library version") as conn:
        row = conn.execute(select(t.c.version).where(t.c.scope == kb, t.c.library == library_key)).first()
    return int(row[0]) if row else None


def _remember_version(graph: Any, kb: str, library_key: str, version: int) -> None:
    row = {"scope": kb, "library": library_key, "version": version, "synced_at": datetime.now(timezone.utc)}
    with graph.db.write("recording the zotero library version") as conn:
        upsert(conn, zotero_libraries, row, ["scope", "library"])
