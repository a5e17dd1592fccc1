"""Bringing a library in and taking citations out: show, export, reading list, BibTeX/RIS/CSL-JSON import.

A small library of three shared papers that cite each other and share references (PaperMage,
CiteSee, Beyond Summarization) is ingested once; tests that write use their own scope in it
(``bib``), and round trips go into fresh libraries.
"""

from __future__ import annotations

import json
from pathlib import Path

import bibtexparser
import pytest
import rispy
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from scholargraph.faces.cli import app as cli
from scholargraph.library import Library
from scholargraph.library_io.bib_import import import_file
from scholargraph.library_io.entries import parse_file_field, read_entries
from scholargraph.library_io.export import base_key, export
from scholargraph.library_io.reading_list import reading_list
from scholargraph.library_io.show import show_paper
from scholargraph.faces.service import create_app
from scholargraph.settings import Settings

FILES = {"papermage": "papermage.pdf", "citesee": "2302.07302v1.pdf", "beyond": "2304.02623v1.pdf"}
# ScholarPhi: cited by all three, held by none of them.
SCHOLARPHI = "Augmenting Scientific Papers with Just-in-Time, Position-Sensitive Definitions of Terms and Symbols"
SCHOLARPHI_DOI = "10.1145/3411764.3445648"
SCHOLARPHI_BIB = f"""@inproceedings{{head2021augmenting,
  title = {{{SCHOLARPHI}}},
  author = {{Head, Andrew and Lo, Kyle and Kang, Dongyeop and Fok, Raymond and Skjonsberg, Sam and Weld, Daniel S. and Hearst, Marti A.}},
  booktitle = {{Proceedings of the 2021 CHI Conference on Human Factors in Computing Systems}},
  year = {{2021}},
  doi = {{{SCHOLARPHI_DOI}}},
  abstract = {{ScholarPhi is an augmented reading interface that brings definitions of technical terms and
    mathematical symbols to readers of scientific papers at the moment they need them.}},
}}
"""


@pytest.fixture(scope="module")
def lib3(tmp_path_factory, shared_data: Path):
    library = Library(Settings(data_dir=tmp_path_factory.mktemp("libio") / "data"))
    report = library.ingest([shared_data / "papers" / f for f in FILES.values()], scope="lib")
    assert not report.failed, report.failed
    library.ids = {name: report.paper_ids[str(shared_data / "papers" / f)] for name, f in FILES.items()}
    yield library
    library.close()


def _cli(library: Library, *args: str):
    return CliRunner().invoke(cli, ["--data-dir", str(library.settings.data_dir), *args])


# -- show --------------------------------------------------------------------------------------
def test_show_gives_sections_citations_both_ways_and_similar_papers(lib3: Library):
    ids = lib3.ids
    citesee = show_paper(lib3, ids["citesee"], ["lib"])
    assert citesee["title"].startswith("CiteSee")
    assert citesee["links"]["doi"] == "https://doi.org/10.1145/3544548.3580847"
    assert {p["id"] for p in citesee["cited_by"]} == {ids["papermage"], ids["beyond"]}
    assert citesee["abstract"].startswith("When reading a scholarly article")
    assert any(s["title"].lower().endswith("introduction") for s in citesee["sections"])

    papermage = show_paper(lib3, ids["papermage"], ["lib"])
    assert [p["id"] for p in papermage["cites_in_library"]] == [ids["citesee"]]
    outside = [r["title"] or "" for r in papermage["cites_outside_library"]]
    assert any(t.lower().startswith("citeread") for t in outside)
    assert ids["papermage"] not in {p["id"] for p in papermage["similar"]}
    assert show_paper(lib3, ids["papermage"], ["other"]) is None  # scopes are permissions


def test_show_from_the_cli_and_the_service(lib3: Library):
    ids = lib3.ids
    result = _cli(lib3, "show", ids["citesee"], "--json")
    assert result.exit_code == 0, result.output
    assert {p["id"] for p in json.loads(result.stdout)["cited_by"]} == {ids["papermage"], ids["beyond"]}
    text = _cli(lib3, "show", ids["citesee"])
    assert "Cited by" in text.stdout and "PaperMage" in text.stdout
    assert _cli(lib3, "show", "0000000000000000").exit_code == 1

    client = TestClient(create_app(lib3.settings, library=lib3))
    got = client.get(f"/papers/{ids['papermage']}", params={"kb": "lib"})
    assert got.status_code == 200 and got.json()["cites_in_library"][0]["id"] == ids["citesee"]
    assert client.get("/papers/0000000000000000").status_code == 404


# -- reading list --------------------------------------------------------------------------------
def test_reading_list_names_references_the_papers_share(lib3: Library):
    works = reading_list(lib3, ["lib"])
    assert works, "three papers of one group share references"
    top = works[0]
    assert top["title"].startswith("Augmenting Scientific Papers with Just-in-Time")
    assert top["count"] == 3 and {p["id"] for p in top["cited_by"]} == set(lib3.ids.values())
    assert all(w["count"] >= 2 and len(w["cited_by"]) == w["count"] for w in works)
    assert [w["count"] for w in works] == sorted((w["count"] for w in works), reverse=True)
    titles = [w["title"].lower() for w in works]
    assert any(t.startswith("citeread") for t in titles) and any(t.startswith("threddy") for t in titles)
    threddy = next(w for w in works if w["title"].lower().startswith("threddy"))
    assert threddy["url"] == "https://arxiv.org/abs/2208.03455"
    # the library's own papers never appear on it, though the others cite them
    assert not any(t.startswith("citesee") for t in titles)

    result = _cli(lib3, "reading-list", "--kb", "lib", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["title"] == top["title"]
    client = TestClient(create_app(lib3.settings, library=lib3))
    assert client.get("/reading-list", params={"kb": "lib", "limit": 1}).json()[0]["count"] == 3
    # the graph view draws the works as hollow 'ghost' nodes, cited by their library papers, when asked
    page = client.get("/graph/view", params={"kb": "lib", "reading_list": "true"}).text
    data = json.loads(page.split('type="application/json">')[1].split("</script>")[0])
    ghosts = [n for n in data["nodes"] if n["ghost"]]
    assert len(ghosts) == len(works) and ghosts[0]["title"] == top["title"]
    assert {e["s"] for e in data["edges"] if e["t"] == ghosts[0]["id"]} == set(lib3.ids.values())
    plain = client.get("/graph/view", params={"kb": "lib"}).text
    assert '"ghost": true' not in plain and top["title"] not in plain


# -- export --------------------------------------------------------------------------------------
def test_export_keys_identifiers_and_formats(lib3: Library):
    first = export(lib3, "bibtex", ["lib"])
    assert first == export(lib3, "bibtex", ["lib"])  # stable across runs
    entries = {e.key: e for e in bibtexparser.parse_string(first).entries}
    assert "chang2023citesee" in entries
    citesee = entries["chang2023citesee"].fields_dict
    assert citesee["doi"].value == "10.1145/3544548.3580847"
    assert citesee["eprint"].value == "2302.07302"
    assert Path(citesee["file"].value).name == FILES["citesee"]
    # a subset keeps the keys the whole library gives
    only = export(lib3, "bibtex", ["lib"], [lib3.ids["citesee"]])
    assert [e.key for e in bibtexparser.parse_string(only).entries] == ["chang2023citesee"]

    ris = rispy.loads(export(lib3, "ris", ["lib"]))
    assert {r["id"] for r in ris} == set(entries)
    assert any("https://arxiv.org/abs/2302.07302" in r.get("urls", []) for r in ris)
    csl = json.loads(export(lib3, "csl-json", ["lib"]))
    item = next(i for i in csl if i["id"] == "chang2023citesee")
    assert item["DOI"] == "10.1145/3544548.3580847" and item["issued"] == {"date-parts": [[2023]]}
    assert item["author"][0] == {"family": "Chang", "given": "Joseph Chee"}

    client = TestClient(create_app(lib3.settings, library=lib3))
    got = client.get("/export", params={"format": "ris", "kb": "lib", "paper": lib3.ids["citesee"]})
    assert got.status_code == 200 and got.text.startswith("TY  - JOUR")
    assert client.get("/export", params={"format": "endnote"}).status_code == 422
    result = _cli(lib3, "export", "--format", "csl-json", "--kb", "lib")
    assert result.exit_code == 0 and json.loads(result.stdout) == csl


def test_generated_keys_are_plain_ascii_and_deduplicated():
    assert base_key(["Kyle Lo"], 2023, "PaperMage: A Unified Toolkit") == "lo2023papermage"
    assert base_key(["Müller, Jörg"], None, "The Über Parser") == "mullernduber"
    assert base_key([], 2020, "") == "anon2020"


# -- import --------------------------------------------------------------------------------------
def test_metadata_only_entries_are_searchable_resolve_citations_and_delete(lib3: Library, tmp_path: Path):
    bib = tmp_path / "refs.bib"
    bib.write_text(SCHOLARPHI_BIB + """
@article{gone2020, title = {A Paper Whose PDF Was Moved Elsewhere}, author = {Doe, Jane}, year = {2020},
  file = {Full Text:missing/gone.pdf:application/pdf}}
""", encoding="utf-8")
    report = import_file(lib3, bib, scope="bib")
    assert sorted(report.metadata_only) == ["gone2020", "head2021augmenting"] and not report.failed
    assert any("gone.pdf" in note for note in report.notes)
    phi = report.paper_ids["head2021augmenting"]

    shown = show_paper(lib3, phi, ["bib"])
    assert shown["metadata_only"] and shown["doi"] == SCHOLARPHI_DOI and shown["year"] == 2021
    assert shown["record"]["cite_key"] == "head2021augmenting"
    hits = lib3.search("augmented reading interface for definitions of mathematical symbols", ["bib"], hops=0).hits
    assert hits and hits[0].paper_id == phi
    # the three papers' references now resolve to it, so it leaves the reading list
    both = ["lib", "bib"]
    assert phi in {p["id"] for p in show_paper(lib3, lib3.ids["papermage"], both)["cites_in_library"]}
    assert not any(w["title"].startswith("Augmenting Scientific") for w in reading_list(lib3, both))
    assert reading_list(lib3, ["lib"])[0]["title"].startswith("Augmenting Scientific")

    again = import_file(lib3, bib, scope="bib")
    assert sorted(again.skipped) == ["gone2020", "head2021augmenting"] and not again.metadata_only

    assert lib3.delete(phi, scope="bib")
    assert show_paper(lib3, phi, None) is None
    assert phi not in {h.paper_id for h in lib3.search("definitions of mathematical symbols", ["bib"], hops=0).hits}
    assert lib3.ids["citesee"] in {p["id"] for p in show_paper(lib3, lib3.ids["papermage"], ["lib"])["cites_in_library"]}


def test_entry_with_a_file_wins_over_the_parser_and_round_trips(tmp_path: Path, shared_data: Path):
    """PaperMage's PDF has no year for the parser; the entry gives it. Export -> import -> same papers."""
    pdf = shared_data / "papers" / FILES["papermage"]
    bib = tmp_path / "mine.bib"
    bib.write_text(SCHOLARPHI_BIB + f"""
@inproceedings{{lo2023papermage,
  title = {{PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating Visually-Rich Scientific Documents}},
  author = {{Lo, Kyle and Shen, Zejiang and Newman, Benjamin}},
  booktitle = {{Proceedings of EMNLP: System Demonstrations}},
  year = {{2023}},
  doi = {{10.18653/v1/2023.emnlp-demo.45}},
  file = {{Full Text PDF:{pdf}:application/pdf}},
}}
""", encoding="utf-8")
    first = Library(Settings(data_dir=tmp_path / "first"))
    report = import_file(first, bib, scope="kb")
    assert report.added == ["lo2023papermage"] and report.metadata_only == ["head2021augmenting"]
    papermage = show_paper(first, report.paper_ids["lo2023papermage"], ["kb"])
    assert papermage["year"] == 2023 and papermage["doi"] == "10.18653/v1/2023.emnlp-demo.45"
    assert papermage["authors"] == ["Kyle Lo", "Zejiang Shen", "Benjamin Newman"]
    assert papermage["chunks"] > 10 and not papermage["metadata_only"]
    # the PaperMage PDF cites ScholarPhi: the metadata-only paper is a citation target
    assert report.paper_ids["head2021augmenting"] in {p["id"] for p in papermage["cites_in_library"]}

    def summary(library: Library) -> dict:
        return {p["id"]: (p["title"], p["authors"], p["year"], p["doi"]) for p in library.papers()}

    expected = summary(first)
    for fmt, suffix in (("bibtex", ".bib"), ("ris", ".ris")):
        out = tmp_path / f"export{suffix}"
        out.write_text(export(first, fmt), encoding="utf-8")
        again = Library(Settings(data_dir=tmp_path / f"again-{fmt}"))
        got = import_file(again, out, scope="kb")
        assert not got.failed and len(got.added) == 1 and len(got.metadata_only) == 1, got.to_json()
        assert summary(again) == expected
        assert export(again, fmt) == out.read_text(encoding="utf-8")  # same keys, same text
        assert sorted(import_file(again, out, scope="kb").skipped) == sorted(got.paper_ids)
        again.close()

    # the entry changed in the reference manager: the paper is stored again under its metadata
    bib.write_text(bib.read_text(encoding="utf-8").replace("year = {2023}", "year = {2024}"), encoding="utf-8")
    changed = import_file(first, bib, scope="kb")
    assert changed.updated == ["lo2023papermage"] and changed.skipped == ["head2021augmenting"]
    papermage = show_paper(first, report.paper_ids["lo2023papermage"], ["kb"])
    assert papermage["year"] == 2024 and report.paper_ids["head2021augmenting"] in {
        p["id"] for p in papermage["cites_in_library"]}
    first.close()


def test_csl_json_import_and_file_fields(tmp_path: Path):
    (tmp_path / "a b.pdf").write_bytes(b"%PDF-1.4")
    assert parse_file_field("Full Text:a b.pdf:application/pdf;:sub/c.pdf:PDF", tmp_path) == [
        tmp_path / "a b.pdf", tmp_path / "sub" / "c.pdf"]
    assert parse_file_field("/abs/x.pdf", tmp_path) == [Path("/abs/x.pdf")]
    csl = tmp_path / "items.json"
    csl.write_text(json.dumps([{
        "id": "k1", "type": "paper-conference", "title": "Some Work", "URL": "https://arxiv.org/abs/2208.03455v2",
        "author": [{"family": "Kang", "given": "Hyeonsu B."}, {"literal": "The Consortium"}],
        "issued": {"date-parts": [[2022, 10]]}, "DOI": "https://doi.org/10.1145/3526113.3545660",
    }]), encoding="utf-8")
    fmt, entries = read_entries(csl)
    assert fmt == "csl-json"
    (entry,) = entries
    assert entry.authors == ["Hyeonsu B. Kang", "The Consortium"] and entry.year == 2022
    assert entry.doi == "10.1145/3526113.3545660" and entry.arxiv_id == "2208.03455"
    assert entry.entry_type == "inproceedings"


# -- Zotero --------------------------------------------------------------------------------------
# The tables that matter, as Zotero 7 creates them (resource/schema/userdata.sql, schema 107;
# itemTypes, fields and creatorTypes from system.sql).
ZOTERO_SCHEMA = """
CREATE TABLE itemTypes (itemTypeID INTEGER PRIMARY KEY, typeName TEXT, templateItemTypeID INT, display INT DEFAULT 1);
CREATE TABLE fields (fieldID INTEGER PRIMARY KEY, fieldName TEXT, fieldFormatID INT);
CREATE TABLE creatorTypes (creatorTypeID INTEGER PRIMARY KEY, creatorType TEXT);
CREATE TABLE libraries (libraryID INTEGER PRIMARY KEY, type TEXT NOT NULL, editable INT NOT NULL,
    filesEditable INT NOT NULL, version INT NOT NULL DEFAULT 0, storageVersion INT NOT NULL DEFAULT 0,
    lastSync INT NOT NULL DEFAULT 0, archived INT NOT NULL DEFAULT 0);
CREATE TABLE items (itemID INTEGER PRIMARY KEY, itemTypeID INT NOT NULL,
    dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, libraryID INT NOT NULL, key TEXT NOT NULL,
    version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0, UNIQUE (libraryID, key));
CREATE TABLE itemDataValues (valueID INTEGER PRIMARY KEY, value UNIQUE);
CREATE TABLE itemData (itemID INT, fieldID INT, valueID, PRIMARY KEY (itemID, fieldID));
CREATE TABLE itemAttachments (itemID INTEGER PRIMARY KEY, parentItemID INT, linkMode INT, contentType TEXT,
    charsetID INT, path TEXT, syncState INT DEFAULT 0, storageModTime INT, storageHash TEXT);
CREATE TABLE tags (tagID INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE itemTags (itemID INT NOT NULL, tagID INT NOT NULL, type INT NOT NULL, PRIMARY KEY (itemID, tagID));
CREATE TABLE creators (creatorID INTEGER PRIMARY KEY, firstName TEXT, lastName TEXT, fieldMode INT,
    UNIQUE (lastName, firstName, fieldMode));
CREATE TABLE itemCreators (itemID INT NOT NULL, creatorID INT NOT NULL, creatorTypeID INT NOT NULL DEFAULT 1,
    orderIndex INT NOT NULL DEFAULT 0, PRIMARY KEY (itemID, creatorID, creatorTypeID, orderIndex), UNIQUE (itemID, orderIndex));
CREATE TABLE collections (collectionID INTEGER PRIMARY KEY, collectionName TEXT NOT NULL, parentCollectionID INT DEFAULT NULL,
    clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, libraryID INT NOT NULL, key TEXT NOT NULL,
    version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0, UNIQUE (libraryID, key));
CREATE TABLE collectionItems (collectionID INT NOT NULL, itemID INT NOT NULL, orderIndex INT NOT NULL DEFAULT 0,
    PRIMARY KEY (collectionID, itemID));
CREATE TABLE deletedItems (itemID INTEGER PRIMARY KEY, dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL);
INSERT INTO itemTypes VALUES (3, 'attachment', NULL, 1), (11, 'conferencePaper', NULL, 1), (22, 'journalArticle', NULL, 1);
INSERT INTO fields VALUES (1, 'title', NULL), (2, 'abstractNote', NULL), (6, 'date', NULL), (13, 'url', NULL),
    (59, 'DOI', NULL), (16, 'extra', NULL), (38, 'publicationTitle', NULL), (43, 'proceedingsTitle', NULL);
INSERT INTO creatorTypes VALUES (8, 'author');
INSERT INTO libraries VALUES (1, 'user', 1, 1, 0, 0, 0, 0);
"""


class ZoteroFolder:
    """A Zotero data folder written the way Zotero writes one: zotero.sqlite and storage/<key>/<file>."""

    def __init__(self, folder: Path) -> None:
        import sqlite3

        self.folder = folder
        (folder / "storage").mkdir(parents=True)
        self.db = sqlite3.connect(folder / "zotero.sqlite")
        self.db.executescript(ZOTERO_SCHEMA)
        self.next_id = 1

    def _value(self, item_id: int, field_id: int, value: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO itemDataValues (value) VALUES (?)", (value,))
        (value_id,) = self.db.execute("SELECT valueID FROM itemDataValues WHERE value = ?", (value,)).fetchone()
        self.db.execute("INSERT OR REPLACE INTO itemData VALUES (?, ?, ?)", (item_id, field_id, value_id))

    def item(self, key: str, type_id: int, fields: dict[int, str], authors: list[tuple[str, str]]) -> int:
        item_id, self.next_id = self.next_id, self.next_id + 1
        self.db.execute("INSERT INTO items (itemID, itemTypeID, dateModified, libraryID, key, version) "
                        "VALUES (?, ?, '2024-01-01 10:00:00', 1, ?, 0)", (item_id, type_id, key))
        for field_id, value in fields.items():
            self._value(item_id, field_id, value)
        for i, (first, last) in enumerate(authors):
            self.db.execute("INSERT OR IGNORE INTO creators (firstName, lastName, fieldMode) VALUES (?, ?, 0)", (first, last))
            (cid,) = self.db.execute("SELECT creatorID FROM creators WHERE firstName = ? AND lastName = ?", (first, last)).fetchone()
            self.db.execute("INSERT INTO itemCreators VALUES (?, ?, 8, ?)", (item_id, cid, i))
        return item_id

    def attach(self, parent: int, key: str, pdf: Path) -> None:
        import shutil

        item_id = self.item(key, 3, {1: "Full Text PDF"}, [])
        (self.folder / "storage" / key).mkdir()
        shutil.copyfile(pdf, self.folder / "storage" / key / pdf.name)
        self.db.execute("INSERT INTO itemAttachments (itemID, parentItemID, linkMode, contentType, path) "
                        "VALUES (?, ?, 0, 'application/pdf', ?)", (item_id, parent, f"storage:{pdf.name}"))

    def collection(self, cid: int, name: str, parent: int | None, items: list[int]) -> None:
        self.db.execute("INSERT INTO collections (collectionID, collectionName, parentCollectionID, libraryID, key) "
                        "VALUES (?, ?, ?, 1, ?)", (cid, name, parent, f"COLL{cid:04d}"))
        for item_id in items:
            self.db.execute("INSERT INTO collectionItems VALUES (?, ?, 0)", (cid, item_id))

    def commit(self) -> None:
        self.db.commit()


def test_zotero_folder_imports_with_collections_incrementally(tmp_path: Path, shared_data: Path):
    papers = shared_data / "papers"
    z = ZoteroFolder(tmp_path / "Zotero")
    papermage = z.item("PMAGE001", 11, {
        1: "PaperMage: A Unified Toolkit for Processing, Representing, and Manipulating Visually-Rich Scientific Documents",
        6: "2023-12-00 2023-12", 59: "10.18653/v1/2023.emnlp-demo.45", 16: "Citation Key: lo2023papermage",
        43: "Proceedings of EMNLP: System Demonstrations"}, [("Kyle", "Lo"), ("Zejiang", "Shen")])
    z.attach(papermage, "ATTPM001", papers / FILES["papermage"])
    citesee = z.item("CSEE0001", 11, {1: "CiteSee: Augmenting Citations in Scientific Papers with Persistent and "
                                         "Personalized Historical Context", 6: "2023-04-19 2023-04-19"},
                     [("Joseph Chee", "Chang"), ("Amy X.", "Zhang")])
    z.attach(citesee, "ATTCS001", papers / FILES["citesee"])
    phi = z.item("PHI00001", 11, {1: SCHOLARPHI, 6: "2021-05-06 2021-05-06", 59: SCHOLARPHI_DOI,
                                  2: "ScholarPhi brings definitions of terms and symbols to readers of papers."},
                 [("Andrew", "Head")])
    z.collection(1, "Toolkits", None, [papermage])
    z.collection(2, "Reading", None, [])
    z.collection(3, "HCI", 2, [citesee, phi])
    z.commit()

    library = Library(Settings(data_dir=tmp_path / "data"))
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), "import", str(z.folder), "--kb", "zot", "--json"])
    assert result.exit_code == 0, result.output
    first = json.loads(result.stdout)
    assert len(first["added"]) == 4 and len(first["metadata_only"]) == 2 and not first["failed"]  # per scope

    def titles(scope: str) -> set[str]:
        return {p["title"].split(":")[0] for p in library.papers([scope])}

    assert titles("zot") == {"PaperMage", "CiteSee", SCHOLARPHI.split(":")[0]}
    assert titles("zot/Toolkits") == {"PaperMage"}
    assert titles("zot/Reading/HCI") == {"CiteSee", SCHOLARPHI.split(":")[0]}
    pm_id = first["paper_ids"]["zot: 1/PMAGE001"]
    shown = show_paper(library, pm_id, ["zot"])
    assert shown["year"] == 2023 and shown["doi"] == "10.18653/v1/2023.emnlp-demo.45"  # Zotero's, not the parser's
    assert shown["authors"] == ["Kyle Lo", "Zejiang Shen"] and shown["record"]["cite_key"] == "lo2023papermage"
    assert shown["record"]["origin"] == "zotero"
    assert first["paper_ids"]["zot: 1/PHI00001"] in {p["id"] for p in shown["cites_in_library"]}

    from scholargraph.library_io.zotero import import_zotero

    again = import_zotero(library, z.folder, kb="zot")
    assert len(again.unchanged) == 6 and not (again.added or again.metadata_only or again.updated or again.removed)

    # in Zotero: ScholarPhi to the trash, CiteSee out of its collection, PaperMage's date edited
    z.db.execute("INSERT INTO deletedItems (itemID) VALUES (?)", (phi,))
    z.db.execute("DELETE FROM collectionItems WHERE itemID = ?", (citesee,))
    z._value(papermage, 6, "2024-01-00 2024-01")
    z.db.execute("UPDATE items SET dateModified = '2024-02-02 09:00:00' WHERE itemID = ?", (papermage,))
    z.commit()
    third = import_zotero(library, z.folder, kb="zot")
    assert sorted(third.removed) == ["zot/Reading/HCI: 1/CSEE0001", "zot/Reading/HCI: 1/PHI00001", "zot: 1/PHI00001"]
    assert sorted(third.updated + third.added) == ["zot/Toolkits: 1/PMAGE001", "zot: 1/PMAGE001"]
    assert titles("zot") == {"PaperMage", "CiteSee"} and titles("zot/Reading/HCI") == set()
    assert show_paper(library, pm_id, ["zot/Toolkits"])["year"] == 2024
    assert not library.graph.has_paper(first["paper_ids"]["zot: 1/PHI00001"])  # nothing else held it
    library.close()


def test_a_pdf_arriving_later_replaces_the_metadata_only_paper(tmp_path: Path, shared_data: Path):
    entry = """@inproceedings{{chang2023citesee,
  title = {{CiteSee: Augmenting Citations in Scientific Papers with Persistent and Personalized Historical Context}},
  author = {{Chang, Joseph Chee and Zhang, Amy X.}}, year = {{2023}}, doi = {{10.1145/3544548.3580847}},{file}
}}
"""
    library = Library(Settings(data_dir=tmp_path / "data"))
    bare, with_file = tmp_path / "bare.bib", tmp_path / "with-file.bib"
    bare.write_text(entry.format(file=""), encoding="utf-8")
    with_file.write_text(entry.format(file=f"\n  file = {{{shared_data / 'papers' / FILES['citesee']}}},"), encoding="utf-8")
    stand_in = import_file(library, bare, scope="kb").paper_ids["chang2023citesee"]
    assert [p["id"] for p in library.papers(["kb"])] == [stand_in]
    report = import_file(library, with_file, scope="kb")
    assert report.added == ["chang2023citesee"]
    (paper,) = library.papers(["kb"])
    assert paper["id"] == report.paper_ids["chang2023citesee"] != stand_in and paper["chunks"] > 10
    assert not library.graph.has_paper(stand_in)
    assert import_file(library, bare, scope="kb").skipped == ["chang2023citesee"]  # the PDF's paper holds it
    library.close()


def test_bibtex_escapes_text_but_not_identifiers_and_reads_back():
    from scholargraph.library_io.entries import from_bibtex
    from scholargraph.library_io.export import Work, to_bibtex

    work = Work(key="k", id="x", title="A & B: 50% of_x $5 #1 — Müller {br} 检索", authors=["Jörg Müller"], year=2020,
                doi="10.1/a_b", arxiv_id=None, abstract="", url="https://x.org/a_b%20c", entry_type="article",
                venue=None, file=None)
    text = to_bibtex([work])
    assert "\\&" in text and "url = {https://x.org/a_b%20c}" in text and "doi = {10.1/a_b}" in text
    (entry,) = from_bibtex(text, Path("."))
    assert (entry.title, entry.authors, entry.url, entry.doi) == (work.title, work.authors, work.url, work.doi)
