"""Zotero import through the Web API v3 (and Zotero 7's local API), against a fake Zotero server
played by pytest-httpx: the JSON shapes are those api.zotero.org answers (items with ``data``,
attachments with ``linkMode``, collections, ``/deleted``), paged and versioned as it pages and
versions, and its files are two shared PDFs."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from scholargraph.faces.cli import app as cli
from scholargraph.library import Library
from scholargraph.library_io.show import show_paper
from scholargraph.library_io.zotero_api import ZoteroAPI, ZoteroAPIError, import_zotero_api
from scholargraph.settings import Settings, ZoteroSettings

WEB = "https://api.zotero.org"
STORAGE = "https://files.zotero.test"
KEY = "SeCrEtZoTeRoKeY123"
PAPERMAGE = ("PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating Visually-Rich "
             "Scientific Documents")
CITESEE = "CiteSee: Augmenting Citations in Scientific Papers with Persistent and Personalized Historical Context"
SCHOLARPHI = "Augmenting Scientific Papers with Just-in-Time, Position-Sensitive Definitions of Terms and Symbols"


class FakeZotero:
    """A Zotero library as the API serves it: versioned objects, pages of at most 2, ``since``."""

    def __init__(self, papers: Path, library: str = "users/123", base: str = WEB, local: bool = False) -> None:
        self.base, self.library, self.local = base, library, local
        self.version = 0
        self.items: dict[str, dict[str, Any]] = {}
        self.collections: dict[str, dict[str, Any]] = {}
        self.deleted: dict[str, int] = {}
        self.files: dict[str, Path] = {}
        self.fail_next: list[tuple[str, httpx.Response]] = []  # (path suffix, answer) served once
        self.papers = papers

    def bump(self) -> int:
        self.version += 1
        return self.version

    def collection(self, key: str, name: str, parent: str | None = None) -> None:
        v = self.bump()
        self.collections[key] = {"key": key, "version": v, "library": {"type": "user", "id": 123},
                                 "data": {"key": key, "version": v, "name": name, "parentCollection": parent or False,
                                          "relations": {}}, "meta": {"numCollections": 0, "numItems": 1}}

    def item(self, key: str, item_type: str, title: str, date: str, creators: list[tuple[str, str]],
             collections: list[str], **fields: Any) -> None:
        v = self.bump()
        self.items[key] = {"key": key, "version": v, "library": {"type": "user", "id": 123},
                           "links": {"self": {"href": f"{WEB}/{self.library}/items/{key}"}}, "meta": {"numChildren": 1},
                           "data": {"key": key, "version": v, "itemType": item_type, "title": title, "date": date,
                                    "creators": [{"creatorType": "author", "firstName": f, "lastName": la}
                                                 for f, la in creators],
                                    "abstractNote": "", "tags": [], "collections": collections, "relations": {},
                                    "dateAdded": "2024-01-01T10:00:00Z", "dateModified": f"2024-01-0{v % 9 + 1}T10:00:00Z",
                                    **fields}}

    def attach(self, key: str, parent: str, pdf: Path) -> None:
        v = self.bump()
        self.files[key] = pdf
        self.items[key] = {"key": key, "version": v, "library": {"type": "user", "id": 123},
                           "links": {"enclosure": {"type": "application/pdf", "href": f"{WEB}/{self.library}/items/{key}/file/view"}},
                           "meta": {}, "data": {
                               "key": key, "version": v, "parentItem": parent, "itemType": "attachment",
                               "linkMode": "imported_file", "title": "Full Text PDF", "accessDate": "", "url": "",
                               "note": "", "contentType": "application/pdf", "charset": "", "filename": pdf.name,
                               "md5": hashlib.md5(pdf.read_bytes()).hexdigest(), "mtime": 1700000000000,
                               "tags": [], "relations": {}, "dateAdded": "2024-01-01T10:00:00Z",
                               "dateModified": "2024-01-01T10:00:00Z"}}

    def note(self, key: str, parent: str) -> None:
        v = self.bump()
        self.items[key] = {"key": key, "version": v, "data": {"key": key, "version": v, "itemType": "note",
                                                               "parentItem": parent, "note": "<p>read again</p>",
                                                               "tags": [], "collections": [], "relations": {}}}

    def delete(self, key: str) -> None:
        del self.items[key]
        self.deleted[key] = self.bump()

    # -- serving ------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host == "files.zotero.test":
            return httpx.Response(200, content=self.files[url.path.strip("/")].read_bytes())
        prefix = httpx.URL(self.base).path.rstrip("/") + f"/{self.library}"
        assert url.path.startswith(prefix), url
        path = url.path[len(prefix):]
        for i, (suffix, answer) in enumerate(self.fail_next):
            if path == suffix:
                del self.fail_next[i]
                return answer
        params = url.params
        headers = {"Last-Modified-Version": str(self.version)}
        since = int(params.get("since", 0))
        if path == "/collections":
            return self._page(list(self.collections.values()), params, url, headers)
        if path == "/deleted":
            return httpx.Response(200, json={"collections": [], "searches": [], "tags": [], "settings": [],
                                             "items": [k for k, v in self.deleted.items() if v > since]},
                                  headers=headers)
        if path == "/items":
            objs = [o for o in self.items.values() if o["version"] > since]
            if "itemKey" in params:
                objs = [o for o in objs if o["key"] in params["itemKey"].split(",")]
            return self._page(objs, params, url, headers)
        if path.endswith("/children"):
            parent = path.split("/")[2]
            return self._page([o for o in self.items.values() if o["data"].get("parentItem") == parent],
                              params, url, headers)
        if path.endswith("/file"):
            key = path.split("/")[2]
            location = self.files[key].as_uri() if self.local else f"{STORAGE}/{key}"
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(404, text="Not found")

    def _page(self, objs: list[dict[str, Any]], params: Any, url: httpx.URL, headers: dict[str, str]) -> httpx.Response:
        start, limit = int(params.get("start", 0)), min(int(params.get("limit", 25)), 2)
        page = objs[start:start + limit]
        headers = {**headers, "Total-Results": str(len(objs))}
        if start + limit < len(objs):
            headers["Link"] = f'<{url.copy_set_param("start", start + limit)}>; rel="next"'
        return httpx.Response(200, json=page, headers=headers)


@pytest.fixture
def zotero(shared_data: Path, httpx_mock) -> FakeZotero:
    papers = shared_data / "papers"
    z = FakeZotero(papers)
    z.collection("COLLTOOL", "Toolkits")
    z.collection("COLLREAD", "Reading")
    z.collection("COLLHCI1", "HCI", "COLLREAD")
    z.item("PMAGE001", "conferencePaper", PAPERMAGE, "2023-12", [("Kyle", "Lo"), ("Zejiang", "Shen")], ["COLLTOOL"],
           DOI="10.18653/v1/2023.emnlp-demo.45", proceedingsTitle="Proceedings of EMNLP: System Demonstrations",
           abstractNote="PaperMage is an open-source Python toolkit for scientific documents.",
           tags=[{"tag": "toolkit"}, {"tag": "pdf", "type": 1}], extra="Citation Key: lo2023papermage")
    z.attach("ATTPM001", "PMAGE001", papers / "papermage.pdf")
    z.note("NOTEPM01", "PMAGE001")
    z.item("CSEE0001", "conferencePaper", CITESEE, "2023-04-19", [("Joseph Chee", "Chang"), ("Amy X.", "Zhang")],
           ["COLLHCI1"])
    z.attach("ATTCS001", "CSEE0001", papers / "2302.07302v1.pdf")
    z.item("PHI00001", "conferencePaper", SCHOLARPHI, "2021-05-06", [("Andrew", "Head")], ["COLLHCI1"],
           DOI="10.1145/3411764.3445648",
           abstractNote="ScholarPhi brings definitions of terms and symbols to readers of papers.")
    httpx_mock.add_callback(z, is_reusable=True)
    return z


def _titles(library: Library, scope: str) -> set[str]:
    return {p["title"].split(":")[0] for p in library.papers([scope])}


def test_web_api_imports_incrementally_and_removes_deleted_items(tmp_path: Path, zotero: FakeZotero, httpx_mock,
                                                                 monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("SCHOLARGRAPH_ZOTERO__API_KEY", KEY)  # the key from the environment, never printed
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "import", "--zotero-api", "web",
                                      "--zotero-library", "users/123", "--kb", "zot", "--json"])
    assert result.exit_code == 0, result.output
    assert KEY not in result.output
    first = json.loads(result.stdout)
    assert first["format"] == "zotero-web" and not first["failed"], first
    assert len(first["added"]) == 4 and len(first["metadata_only"]) == 2  # per scope: kb + its collection

    requests = httpx_mock.get_requests()
    api = [r for r in requests if r.url.host == "api.zotero.org"]
    assert all(r.headers["Zotero-API-Version"] == "3" and r.headers["Zotero-API-Key"] == KEY for r in api)
    assert all(KEY not in str(r.url) for r in requests)
    storage = [r for r in requests if r.url.host == "files.zotero.test"]
    assert len(storage) == 2 and all("Zotero-API-Key" not in r.headers for r in storage)  # the key stays with Zotero
    assert len([r for r in api if r.url.path.endswith("/items")]) == 3  # 6 objects, pages of 2

    library = Library(Settings(data_dir=data, zotero=ZoteroSettings(api="web", library="users/123", api_key=KEY,
                                                                    backoff_s=0.0)))
    assert _titles(library, "zot") == {"PaperMage", "CiteSee", SCHOLARPHI.split(":")[0]}
    assert _titles(library, "zot/Toolkits") == {"PaperMage"}
    assert _titles(library, "zot/Reading/HCI") == {"CiteSee", SCHOLARPHI.split(":")[0]}
    pm_id = first["paper_ids"]["zot: users/123/PMAGE001"]
    shown = show_paper(library, pm_id, ["zot"])
    assert shown["year"] == 2023 and shown["doi"] == "10.18653/v1/2023.emnlp-demo.45"  # Zotero's, not the parser's
    assert shown["authors"] == ["Kyle Lo", "Zejiang Shen"] and shown["record"]["cite_key"] == "lo2023papermage"
    assert shown["record"]["origin"] == "zotero" and shown["record"]["tags"] == ["toolkit", "pdf"]

    # nothing changed in Zotero: one look with ?since=, nothing fetched, nothing stored
    httpx_mock.reset()
    httpx_mock.add_callback(zotero, is_reusable=True)
    again = import_zotero_api(library, kb="zot")
    assert not (again.added or again.updated or again.metadata_only or again.removed or again.failed)
    items_asked = [r for r in httpx_mock.get_requests() if r.url.path.endswith("/items")]
    assert [r.url.params["since"] for r in items_asked] == [str(zotero.version)]
    assert not [r for r in httpx_mock.get_requests() if r.url.path.endswith("/file")]
    assert _titles(library, "zot") == {"PaperMage", "CiteSee", SCHOLARPHI.split(":")[0]}

    # ScholarPhi deleted in Zotero; the server is busy once (429, Retry-After: 1)
    zotero.delete("PHI00001")
    zotero.fail_next.append(("/collections", httpx.Response(429, headers={"Retry-After": "1"})))
    began = time.monotonic()
    third = import_zotero_api(library, kb="zot")
    assert time.monotonic() - began >= 1.0  # waited what the server asked (backoff_s is 0 here)
    assert sorted(third.removed) == ["zot/Reading/HCI: users/123/PHI00001", "zot: users/123/PHI00001"]
    assert not (third.added or third.updated or third.failed)
    assert _titles(library, "zot") == {"PaperMage", "CiteSee"} and _titles(library, "zot/Reading/HCI") == {"CiteSee"}
    assert not library.graph.has_paper(first["paper_ids"]["zot: users/123/PHI00001"])

    # PaperMage moved to Reading in Zotero: its item's version moves, it changes scope
    zotero.items["PMAGE001"]["data"]["collections"] = ["COLLREAD"]
    zotero.items["PMAGE001"]["version"] = zotero.items["PMAGE001"]["data"]["version"] = zotero.bump()
    fourth = import_zotero_api(library, kb="zot")
    assert fourth.removed == ["zot/Toolkits: users/123/PMAGE001"] and not fourth.failed
    assert _titles(library, "zot/Reading") == {"PaperMage"} and _titles(library, "zot/Toolkits") == set()
    assert library.graph.has_paper(pm_id)
    library.close()


def test_local_api_reads_files_where_zotero_keeps_them(tmp_path: Path, shared_data: Path, httpx_mock):
    z = FakeZotero(shared_data / "papers", library="users/0", base="http://127.0.0.1:23119/api", local=True)
    z.item("CSEE0001", "conferencePaper", CITESEE, "2023-04-19", [("Joseph Chee", "Chang")], [])
    z.attach("ATTCS001", "CSEE0001", shared_data / "papers" / "2302.07302v1.pdf")
    httpx_mock.add_callback(z, is_reusable=True)
    library = Library(Settings(data_dir=tmp_path / "data"))
    report = import_zotero_api(library, kb="desk", api="local")
    assert report.added == ["desk: users/0/CSEE0001"] and not report.failed
    assert all("Zotero-API-Key" not in r.headers for r in httpx_mock.get_requests())
    assert library.papers(["desk"])[0]["authors"] == ["Joseph Chee Chang"]

    # only an attachment changed (its parent's version did not move): the parent is asked for by key
    z.attach("ATTCS002", "CSEE0001", shared_data / "papers" / "2302.07302v1.pdf")
    again = import_zotero_api(library, kb="desk", api="local")
    assert again.skipped == ["desk: users/0/CSEE0001"] and not (again.added or again.removed or again.failed)
    assert any(r.url.params.get("itemKey") == "CSEE0001" for r in httpx_mock.get_requests())
    library.close()


def test_a_server_that_keeps_failing_is_named(httpx_mock):
    httpx_mock.add_response(status_code=503, is_reusable=True)
    client = ZoteroAPI(ZoteroSettings(max_retries=2, backoff_s=0.0), "web", "groups/42", KEY)
    with pytest.raises(ZoteroAPIError, match=r"https://api.zotero.org: HTTP 503 on /collections after 3 tries"):
        client.collections()
    assert len(httpx_mock.get_requests()) == 3
    with pytest.raises(ZoteroAPIError, match="needs a key"):
        ZoteroAPI(ZoteroSettings(), "web", "users/1", "")
