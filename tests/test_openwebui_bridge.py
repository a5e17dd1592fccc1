"""The Open WebUI glue without Open WebUI: valves -> settings, the function files, and the hooks
with Open WebUI's lookups and access check replaced by a small fake of its records."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from scholargraph.faces import openwebui as sg
from scholargraph.errors import ConfigError
from scholargraph.faces.openwebui import knob
from scholargraph.retrieval.context import CitedPaper, ContextPack
from scholargraph.retrieval.results import Passage

REPO = Path(__file__).resolve().parents[1]
FUNCTION_FILES = {
    "Filter": REPO / "plugin" / "openwebui" / "scholargraph_filter.py",
    "Event": REPO / "plugin" / "openwebui" / "scholargraph_event.py",
    "Pipe": REPO / "plugin" / "openwebui" / "scholargraph_pipe.py",
    "Action": REPO / "plugin" / "openwebui" / "scholargraph_action.py",
    "Pipeline": REPO / "pipelines" / "scholargraph_pipeline.py",
}


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(coro):
    return asyncio.run(coro)


# -- valves -> settings ----------------------------------------------------------------------
class DemoValves(BaseModel):
    top_k: int = knob("retrieval.top_k")
    vllm_url: str = knob("embedding.base_url", "")
    embedding_dimensions: int = knob("embedding.dimensions", 0)
    embedding_instructions: str = knob("embedding.instructions", "", "JSON object")
    data_dir: str = knob("data_dir", "")
    unrelated: str = "x"


def test_knob_takes_default_and_description_from_settings():
    fields = DemoValves.model_fields
    assert DemoValves().top_k == 8
    assert fields["top_k"].description.startswith("Passages retrieved per question")
    assert "SCHOLARGRAPH_EMBEDDING__BASE_URL" in fields["vllm_url"].description


def test_empty_valves_keep_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SCHOLARGRAPH_EMBEDDING__BASE_URL", "http://gpu:8000/v1")
    monkeypatch.setenv("SCHOLARGRAPH_DATA_DIR", str(tmp_path))
    settings = sg.settings_from_valves(DemoValves())
    assert settings.embedding.base_url == "http://gpu:8000/v1"
    assert settings.data_dir == tmp_path and settings.embedding.dimensions is None
    settings = sg.settings_from_valves(DemoValves(vllm_url=" http://other/v1 ", top_k=3, embedding_dimensions=256,
                                                  embedding_instructions='{"retrieve": "Find papers"}'))
    assert settings.embedding.base_url == "http://other/v1" and settings.retrieval.top_k == 3
    assert settings.embedding.dimensions == 256 and settings.embedding.instructions == {"retrieve": "Find papers"}
    with pytest.raises(ConfigError, match="must be JSON"):
        sg.settings_from_valves(DemoValves(embedding_instructions="{nope"))


def test_retrieval_valves_reach_fusion_threshold_and_edge_weights():
    valves = sg.RetrievalValves(hybrid=True, fusion="rrf", hybrid_alpha=0.7, score_threshold=0.25,
                                edge_weights='{"cites": 1.0, "cited_by": 0.8, "similar": 0.2, "shares_author": 0.1}')
    retrieval = sg.settings_from_valves(valves).retrieval
    assert (retrieval.hybrid, retrieval.fusion, retrieval.hybrid_alpha, retrieval.score_threshold) == (True, "rrf", 0.7, 0.25)
    assert retrieval.edge_weights["similar"] == 0.2
    defaults = sg.settings_from_valves(sg.RetrievalValves()).retrieval
    assert defaults.fusion == "convex" and defaults.edge_weights["cites"] == 1.0


def test_a_user_turns_keyword_search_on_or_off_for_their_own_chats():
    filter_module = load(FUNCTION_FILES["Filter"])
    admin = sg.RetrievalValves(hybrid=False, hops=1)
    user = filter_module.Filter.UserValves
    assert sg.search_options(admin, user())["hybrid"] is False
    assert sg.search_options(admin, user(keyword_search="on"))["hybrid"] is True
    assert sg.search_options(sg.RetrievalValves(hybrid=True), user(keyword_search="off"))["hybrid"] is False
    assert sg.search_options(admin, user(hops=0))["hops"] == 0
    pipe_user = load(FUNCTION_FILES["Pipe"]).Pipe.UserValves
    assert sg.search_options(admin, pipe_user(keyword_search="on"))["hybrid"] is True


@pytest.mark.parametrize("kind", list(FUNCTION_FILES))
def test_function_files_are_single_classes_over_the_bridge(kind):
    module = load(FUNCTION_FILES[kind])
    text = FUNCTION_FILES[kind].read_text()
    assert text.startswith('"""\ntitle:') and "requirements: scholargraph" in text
    found = [name for name in ("Pipe", "Filter", "Action", "Event", "Pipeline") if hasattr(module, name)]
    assert found == [kind]
    instance = getattr(module, kind)()
    for name, info in type(instance.valves).model_fields.items():
        assert info.description, f"{kind}.Valves.{name} has no description"
    # every library valve maps onto the same setting in every file, so the functions can agree
    library = {n: i.json_schema_extra["setting"] for n, i in type(instance.valves).model_fields.items()
               if isinstance(i.json_schema_extra, dict) and i.json_schema_extra.get("setting", "").split(".")[0]
               in ("data_dir", "embedding", "store", "graph")}
    assert library["vllm_url"] == "embedding.base_url" and library["graph_database_url"] == "graph.database_url"
    assert not hasattr(instance, "file_handler")  # Open WebUI would drop our hand-off items too


def test_chat_items_and_models():
    body = {"files": [{"type": "collection", "id": "k1"}, {"type": "file", "id": "f1"}],
            "metadata": {"files": [{"type": "collection", "id": "k1"}, {"type": "file", "id": "f2"}]}}
    assert [sg.item_key(i) for i in sg.chat_items(body)] == [("collection", "k1"), ("file", "f1"), ("file", "f2")]
    assert sg.model_applies("gpt", True, [])
    assert not sg.model_applies("gpt", False, ["other"]) and sg.model_applies("gpt", False, [" gpt "])
    assert not sg.model_applies("scholargraph_pipe.scholargraph-assistant", True, [])
    assert sg.parse_file_origin(sg.file_origin("abc-1", "a/b.pdf")) == ("abc-1", "a/b.pdf")
    assert sg.parse_file_origin("/home/me/paper.pdf") is None
    assert sg.last_user_text([{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                              {"role": "assistant", "content": "x"}]) == "hi"


def test_pack_sources_number_papers_like_the_pack():
    pack = ContextPack(text="", language="en", cited=[
        CitedPaper(1, "p1", "Hit paper", ["A. Author"], 2020, sg.file_origin("f-1", "hit.pdf"),
               [Passage("p1", "Hit paper", "Intro", 3, 0.8, "text one </source> tail"),
                Passage("p1", "Hit paper", "Method", 4, 0.7, "two")]),
        CitedPaper(2, "p2", "Neighbour", [], None, "/local/path.pdf", [Passage("p2", "Neighbour", "", None, 0.5, "three")],
               relation="cites [1]"),
    ])
    sources = sg.pack_sources(pack, ["kb:k1"], "http://owui")
    assert [s["source"]["name"] for s in sources] == ["Hit paper", "Neighbour"]
    first = sources[0]
    assert first["source"]["url"] == "http://owui/api/v1/files/f-1/content#page=3"
    assert {m["source"] for m in first["metadata"]} == {"scholargraph:p1"}
    assert [m["page"] for m in first["metadata"]] == [2, 3]  # 0-based, as Open WebUI's citations read it
    assert first["distances"] == [0.8, 0.7]
    assert "&lt;/source" in first["document"][0] and first["document"][0].startswith("[section: Intro; p. 3]")
    assert sources[1]["document"][0].startswith("[Graph neighbour (cites [1])]")
    assert sources[1]["source"]["url"] == "" and "page" not in sources[1]["metadata"][0]
    items = sg.handoff_items(sources)
    assert items[0]["context"] == "full" and items[0]["docs"][1]["content"] == first["document"][1]


# -- the hooks against a fake Open WebUI ----------------------------------------------------------
class FakeOpenWebUI:
    """Open WebUI's records as the bridge reads them: knowledge bases, files, who may read what."""

    def __init__(self, tmp: Path, docs: Path) -> None:
        self.files: dict[str, SimpleNamespace] = {}
        self.knowledge: dict[str, list[str]] = {}
        self.readers: dict[str, set[str]] = {}  # kb id or file-{id} -> user ids
        self.tmp, self.docs = tmp, docs

    def add_file(self, file_id: str, name: str, owner: str) -> None:
        path = self.tmp / f"{file_id}_{name}"
        shutil.copy(self.docs / name, path)
        self.files[file_id] = SimpleNamespace(id=file_id, filename=name, meta={"name": name}, path=str(path))
        self.readers[f"file-{file_id}"] = {owner}

    def install(self, monkeypatch) -> None:
        async def readable(user, kbs, files):
            uid = user["id"]
            return ({k for k in kbs if uid in self.readers.get(k, set())},
                    {f for f in files if uid in self.readers.get(f"file-{f}", set())})

        async def knowledge_base(kb_id):
            return SimpleNamespace(id=kb_id, meta={}) if kb_id in self.knowledge else None

        async def knowledge_files(kb_id):
            return [self.files[f] for f in self.knowledge.get(kb_id, [])]

        async def openwebui_file(file_id):
            record = self.files.get(file_id)
            return record, (record.path if record else None)

        async def mark_file(file_id, **state):
            if file_id in self.files:
                self.files[file_id].meta["scholargraph"] = state

        for name, fn in locals().items():
            if name != "self" and callable(fn):
                monkeypatch.setattr(sg.access, name, fn)


@pytest.fixture
def owui(tmp_path, shared_data, monkeypatch) -> FakeOpenWebUI:
    fake = FakeOpenWebUI(tmp_path, shared_data / "docs")
    fake.add_file("f-md", "sample.md", "alice")
    fake.add_file("f-zh", "sample_zh.txt", "alice")
    fake.knowledge["kb1"] = ["f-md", "f-zh"]
    fake.readers["kb1"] = {"alice"}
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def filter_valves(tmp_path):
    module = load(FUNCTION_FILES["Filter"])
    return module.Filter.Valves(data_dir=str(tmp_path / "library"), hops=1)


def test_filter_hands_open_webui_graph_aware_sources(owui, filter_valves):
    events: list[dict] = []

    async def emitter(event):
        events.append(event)

    chat_file = {"type": "file", "id": "f-img"}  # not a paper: stays with Open WebUI
    owui.files["f-img"] = SimpleNamespace(id="f-img", filename="photo.png", meta={"name": "photo.png"}, path=None)
    owui.readers["file-f-img"] = {"alice"}
    body = {"model": "m", "messages": [{"role": "user", "content": "How do citation graphs help dense retrieval?"}],
            "files": [{"type": "collection", "id": "kb1"}, chat_file]}
    metadata = {"files": body["files"]}
    out = run(sg.filter_inlet(body, valves=filter_valves, user={"id": "alice"}, metadata=metadata, emitter=emitter))

    ours = [i for i in out["files"] if i.get("type") == "scholargraph"]
    assert ours and out["files"][: len(ours)] == ours  # first, so [n] stays the pack's numbering
    assert ("collection", "kb1") not in {sg.item_key(i) for i in out["files"]}
    assert chat_file in out["files"] and metadata["files"] is out["files"]
    assert ours[0]["docs"][0]["metadata"]["source"].startswith("scholargraph:")
    assert ours[0]["scopes"] == ["kb:kb1"]
    text = [e["data"]["description"] for e in events]
    assert any("indexing sample.md" in t for t in text)
    assert any(re.fullmatch(r"(1 passage|\d+ passages) from (1 paper|\d+ papers)", t) for t in text)
    assert any(t.startswith("graph: ") for t in text) and events[-1]["data"]["done"]
    assert owui.files["f-md"].meta["scholargraph"]["status"] == "indexed"


def test_filter_leaves_unreadable_knowledge_alone(owui, filter_valves):
    """Denied by the access check (not by a crash, which the filter also survives): the status
    says so, and nothing of the knowledge base is indexed or handed over."""
    events: list[dict] = []

    async def emitter(event):
        events.append(event)

    body = {"model": "m", "messages": [{"role": "user", "content": "citation graphs"}],
            "files": [{"type": "collection", "id": "kb1"}]}
    out = run(sg.filter_inlet(body, valves=filter_valves, user={"id": "mallory"}, emitter=emitter))
    assert out["files"] == [{"type": "collection", "id": "kb1"}]
    assert [e["data"]["description"] for e in events] == ["ScholarGraph: no access to kb1"]
    assert "scholargraph" not in (owui.files["f-md"].meta or {})


def test_filter_that_cannot_check_access_says_why_and_leaves_the_chat_alone(owui, filter_valves, monkeypatch):
    events: list[dict] = []

    async def emitter(event):
        events.append(event)

    async def broken(*args, **kwargs):
        raise RuntimeError("access database is locked")

    monkeypatch.setattr(sg.access, "readable", broken)
    body = {"model": "m", "messages": [{"role": "user", "content": "citation graphs"}],
            "files": [{"type": "collection", "id": "kb1"}]}
    out = run(sg.filter_inlet(body, valves=filter_valves, user={"id": "alice"}, emitter=emitter))
    assert out["files"] == [{"type": "collection", "id": "kb1"}]
    assert [e["data"]["description"] for e in events] == ["ScholarGraph: access database is locked"]


def test_events_keep_the_scope_in_step(owui, filter_valves):
    valves = load(FUNCTION_FILES["Event"]).Event.Valves(data_dir=filter_valves.data_dir)
    library = sg.get_library(sg.settings_from_valves(valves))
    added = {"event": "knowledge.file.added", "subject": {"type": "knowledge.file", "id": "f-md"},
             "data": {"knowledge_id": "kb1"}}
    assert run(sg.handle_event(added, None, valves)).startswith("added")
    assert run(sg.handle_event(added, None, valves)).startswith("skipped")
    assert len(library.papers(["kb:kb1"])) == 1
    removed = dict(added, event="knowledge.file.removed")
    assert run(sg.handle_event(removed, None, valves)) == "removed 1 paper"
    assert library.papers(["kb:kb1"]) == []
    run(sg.handle_event(added, None, valves))
    deleted = {"event": "knowledge.deleted", "subject": {"type": "knowledge", "id": "kb1"}, "data": {}}
    assert "forgot knowledge base kb1" in run(sg.handle_event(deleted, "knowledge.deleted", valves))
    assert library.papers(["kb:kb1"]) == []
    assert run(sg.handle_event({"event": "chat.created"}, None, valves)) is None


def test_a_knowledge_upload_is_parsed_once_by_the_loader_and_filed_by_either_event(owui, filter_valves, tmp_path,
                                                                                     monkeypatch):
    """ScholarGraph as Open WebUI's document loader: PUT /process parses the upload and keeps the
    parse; the Event function's ingest takes it, and Open WebUI's second event for the same upload
    (retrieval.content.processed, then knowledge.file.added) reads nothing."""
    from scholargraph.faces.openwebui.loader import process_upload
    from scholargraph.parsing import pipeline

    parsed: list[str] = []
    extract = pipeline._extract_markup
    monkeypatch.setattr(pipeline, "_extract_markup", lambda path, suffix: parsed.append(path.name) or extract(path, suffix))
    valves = load(FUNCTION_FILES["Event"]).Event.Valves(data_dir=filter_valves.data_dir)
    settings = sg.settings_from_valves(valves)
    stored = Path(owui.files["f-md"].path)
    spooled = tmp_path / "spooled-body"
    shutil.copy(stored, spooled)
    docs = process_upload(spooled, stored.name, "text/markdown", settings)  # what the service's PUT /process runs
    assert docs and parsed == ["f-md_sample.md"]

    processed = {"event": "retrieval.content.processed", "subject": {"type": "file", "id": "f-md"},
                 "data": {"collection_name": "kb1"}}
    added = {"event": "knowledge.file.added", "subject": {"type": "knowledge.file", "id": "f-md"},
             "data": {"knowledge_id": "kb1"}}
    assert run(sg.handle_event(processed, None, valves)).startswith("added: sample.md: Graph-Augmented Retrieval")
    assert run(sg.handle_event(added, None, valves)) == "skipped: sample.md: already indexed"
    assert parsed == ["f-md_sample.md"]  # one parse for the upload, the loader's
    assert list(settings.parsing.cache_folder.glob("*.json")) == []  # taken by the ingest
    library = sg.get_library(settings)
    assert [p["title"] for p in library.papers(["kb:kb1"])] == [docs[0]["metadata"]["title"]]
    assert owui.files["f-md"].meta["scholargraph"]["status"] == "indexed"


def test_a_file_uploaded_twice_to_a_knowledge_base_survives_removing_one_copy(owui, filter_valves):
    library = sg.get_library(sg.settings_from_valves(filter_valves))
    owui.add_file("f-md2", "sample.md", "alice")  # the same paper again, another upload
    owui.knowledge["kb1"] = ["f-md", "f-md2"]
    outcomes = run(sg.sync_knowledge(library, "kb1"))
    assert sorted(o.status for o in outcomes) == ["added", "skipped"]
    assert set(sg.files_in_scope(library, "kb:kb1")) == {"f-md", "f-md2"}
    assert run(sg.sync_knowledge(library, "kb1")) == []  # nothing left to index: the copy is known

    owui.knowledge["kb1"] = ["f-md2"]  # the first upload is removed from the knowledge base
    run(sg.sync_knowledge(library, "kb1"))
    assert len(library.papers(["kb:kb1"])) == 1 and library.store.count(["kb:kb1"]) > 0
    owui.knowledge["kb1"] = []
    run(sg.sync_knowledge(library, "kb1"))
    assert library.papers(["kb:kb1"]) == [] and library.store.count(["kb:kb1"]) == 0


def test_pipe_reply_without_stream_carries_sources(owui, tmp_path, monkeypatch):
    module = load(FUNCTION_FILES["Pipe"])
    valves = module.Pipe.Valves(data_dir=str(tmp_path / "library"), llm_url="http://llm/v1", llm_model="m")
    library = sg.get_library(sg.settings_from_valves(valves))
    monkeypatch.setattr(type(library), "answer_stream", lambda self, q, pack: iter(["Graphs help ", "[1]."]))
    body = {"model": "scholargraph_pipe.scholargraph-assistant", "stream": False,
            "messages": [{"role": "user", "content": "How do citation graphs help retrieval?"}]}
    pipe = module.Pipe()
    pipe.valves = valves
    reply = run(pipe.pipe(body, __user__={"id": "alice"}, __metadata__={}, __files__=[{"type": "collection", "id": "kb1"}]))
    assert reply["choices"][0]["message"]["content"] == "Graphs help [1]."
    assert reply["sources"][0]["source"]["type"] == "scholargraph"


def _pipe_reply(module, valves, question: str) -> dict:
    pipe = module.Pipe()
    pipe.valves = valves
    body = {"model": "scholargraph_pipe.scholargraph-assistant", "stream": False,
            "messages": [{"role": "user", "content": question}]}
    return run(pipe.pipe(body, __user__={"id": "alice"}, __metadata__={}, __files__=[{"type": "collection", "id": "kb1"}]))


def test_pipe_without_an_llm_quotes_the_papers_and_names_the_valves(owui, tmp_path, monkeypatch):
    monkeypatch.delenv("SCHOLARGRAPH_LLM__BASE_URL", raising=False)
    monkeypatch.delenv("SCHOLARGRAPH_LLM__MODEL", raising=False)
    module = load(FUNCTION_FILES["Pipe"])
    reply = _pipe_reply(module, module.Pipe.Valves(data_dir=str(tmp_path / "library")),
                        "How do citation graphs help dense retrieval?")
    content = reply["choices"][0]["message"]["content"]
    quoted = [line for line in content.splitlines() if line.startswith("> ")]
    assert quoted and all(line.endswith("]") for line in quoted)
    assert any("citation" in line.lower() for line in quoted)
    assert "**Sources**" in content and "[1] Graph-Augmented Retrieval for Scientific Papers" in content
    assert "llm_url" in content and "llm_model" in content
    assert reply["sources"][0]["source"]["type"] == "scholargraph"


def test_pipe_with_an_unreachable_llm_answers_from_the_papers_with_one_log_line(owui, tmp_path, caplog):
    from conftest import free_port

    module = load(FUNCTION_FILES["Pipe"])
    url = f"http://127.0.0.1:{free_port()}/v1"
    valves = module.Pipe.Valves(data_dir=str(tmp_path / "library"), llm_url=url, llm_model="m")
    with caplog.at_level("INFO", logger="scholargraph"):
        reply = _pipe_reply(module, valves, "How do citation graphs help dense retrieval?")
    content = reply["choices"][0]["message"]["content"]
    assert content.startswith("> ") and "[1]" in content
    assert url in content and "llm_url" in content and "Traceback" not in content
    ours = [r for r in caplog.records if r.name.startswith("scholargraph.openwebui") and r.levelname != "INFO"]
    assert len(ours) == 1 and ours[0].levelname == "WARNING" and not ours[0].exc_info


def test_pipe_answers_in_the_conversation_language_when_the_question_does_not_tell(owui, tmp_path, monkeypatch):
    module = load(FUNCTION_FILES["Pipe"])
    valves = module.Pipe.Valves(data_dir=str(tmp_path / "library"), llm_url="http://llm/v1", llm_model="m")
    library = sg.get_library(sg.settings_from_valves(valves))
    told = []
    monkeypatch.setattr(type(library), "answer_stream", lambda self, q, pack: told.append(pack.language) or iter(["ok"]))
    pipe = module.Pipe()
    pipe.valves = valves
    body = {"model": "scholargraph_pipe.scholargraph-assistant", "stream": False, "messages": [
        {"role": "user", "content": "Wie helfen Zitationsgraphen der dichten Suche?"},
        {"role": "assistant", "content": "..."},
        {"role": "user", "content": "BM25?"}]}
    run(pipe.pipe(body, __user__={"id": "alice"}, __metadata__={}, __files__=[{"type": "collection", "id": "kb1"}]))
    body["messages"] = body["messages"][-1:]
    run(pipe.pipe(body, __user__={"id": "alice"}, __metadata__={"variables": {"{{USER_LANGUAGE}}": "fr-FR"}},
                  __files__=[{"type": "collection", "id": "kb1"}]))
    assert told == ["de", "fr"]


def test_action_draws_only_readable_papers(owui, filter_valves):
    run(sg.filter_inlet({"model": "m", "messages": [{"role": "user", "content": "citation graphs"}],
                         "files": [{"type": "collection", "id": "kb1"}]}, valves=filter_valves, user={"id": "alice"}))
    library = sg.get_library(sg.settings_from_valves(filter_valves))
    paper = library.papers(["kb:kb1"])[0]
    message = {"id": "a1", "role": "assistant", "sources": [
        {"source": {"type": "scholargraph", "paper_id": paper["id"], "scopes": ["kb:kb1"]}}]}
    action = load(FUNCTION_FILES["Action"]).Action.Valves(data_dir=filter_valves.data_dir)
    html = run(sg.graph_embed({"id": "a1", "messages": [message]}, valves=action, user={"id": "alice"}))
    assert "<svg" in html and paper["title"] in html
    html = run(sg.graph_embed({"id": "a1", "messages": [message]}, valves=action, user={"id": "mallory"}))
    assert paper["title"] not in html



def test_export_citations_action_gives_bibtex_of_readable_sources_only(owui, filter_valves):
    run(sg.filter_inlet({"model": "m", "messages": [{"role": "user", "content": "citation graphs"}],
                         "files": [{"type": "collection", "id": "kb1"}]}, valves=filter_valves, user={"id": "alice"}))
    library = sg.get_library(sg.settings_from_valves(filter_valves))
    paper = library.papers(["kb:kb1"])[0]
    body = {"id": "a1", "messages": [{"id": "a1", "role": "assistant", "sources": [
        {"source": {"type": "scholargraph", "paper_id": paper["id"], "scopes": ["kb:kb1"]}}]}]}
    module = load(REPO / "plugin" / "openwebui" / "scholargraph_citations_action.py")
    valves = module.Action.Valves(data_dir=filter_valves.data_dir)
    assert module.Action.Valves.model_fields["format"].description
    text = run(sg.citations_text(body, valves=valves, user={"id": "alice"}))
    assert text.startswith("@") and paper["title"].split()[0] in text
    assert run(sg.citations_text(body, valves=valves, user={"id": "mallory"})) == ""
    embed = run(sg.citations_embed(body, valves=valves.model_copy(update={"format": "ris"}), user={"id": "alice"}))
    assert "TY  -" in embed and "download='citations.ris'" in embed

def test_pipeline_searches_only_listed_knowledge_bases(owui, tmp_path):
    module = load(FUNCTION_FILES["Pipeline"])
    valves = module.Pipeline.Valves(data_dir=str(tmp_path / "library"))
    library = sg.get_library(sg.settings_from_valves(valves))
    run(sg.sync_knowledge(library, "kb1"))  # indexed by Open WebUI's side of the deployment
    body = {"model": "m", "messages": [{"role": "user", "content": "citation graphs for retrieval"}],
            "files": [{"type": "collection", "id": "kb1"}]}
    pipeline = module.Pipeline()
    pipeline.valves = valves
    assert run(pipeline.inlet(dict(body, files=list(body["files"])), {"id": "anyone"}))["files"] == body["files"]
    pipeline.valves = valves.model_copy(update={"knowledge_ids": "kb1"})
    out = run(pipeline.inlet(dict(body, files=list(body["files"])), {"id": "anyone"}))
    assert [i["type"] for i in out["files"]] and all(i["type"] == "scholargraph" for i in out["files"])


def test_open_webui_brings_an_older_library_up_to_date_when_it_first_opens_it(tmp_path, shared_data):
    """Open WebUI deployments may run no ScholarGraph service: the functions upgrade the library."""
    import time

    from sqlalchemy import delete

    from scholargraph.graph.schema import chunk_vectors, paper_vectors
    from scholargraph.library import Library
    from scholargraph.settings import Settings

    settings = Settings(data_dir=tmp_path / "owui-old")
    old = Library(settings)
    source = shared_data / "docs" / "sample.md"
    old.ingest([source], scope="kb")
    with old.graph.db.write("forgetting the graph's vectors, as an older version had none") as conn:
        conn.execute(delete(chunk_vectors))
        conn.execute(delete(paper_vectors))
    old.close()

    library = sg.get_library(settings)
    deadline = time.monotonic() + 120
    while library.graph.papers_without_vectors(library.store.key) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert library.graph.papers_without_vectors(library.store.key) == []


# -- /show and /help in the Pipe -----------------------------------------------------------------
@pytest.fixture
def papermage_kb(owui, shared_data, tmp_path):
    """kb1 holds PaperMage next to the sample paper; only alice may read it."""
    path = tmp_path / "f-pm_papermage.pdf"
    shutil.copy(shared_data / "papers" / "papermage.pdf", path)
    owui.files["f-pm"] = SimpleNamespace(id="f-pm", filename="papermage.pdf", meta={"name": "papermage.pdf"}, path=str(path))
    owui.readers["file-f-pm"] = {"alice"}
    owui.knowledge["kb1"] = ["f-md", "f-pm"]
    module = load(FUNCTION_FILES["Pipe"])
    valves = module.Pipe.Valves(data_dir=str(tmp_path / "library"))
    library = sg.get_library(sg.settings_from_valves(valves))
    run(sg.sync_knowledge(library, "kb1"))
    papermage = next(p for p in library.papers(["kb:kb1"]) if p["title"].startswith("PaperMage"))
    return module, valves, papermage["id"]


def _ask_pipe(module, valves, text: str, user: str = "alice", files=None) -> str:
    pipe = module.Pipe()
    pipe.valves = valves
    body = {"model": "scholargraph_pipe.scholargraph-assistant", "stream": False,
            "messages": [{"role": "user", "content": text}]}
    files = [{"type": "collection", "id": "kb1"}] if files is None else files
    reply = run(pipe.pipe(body, __user__={"id": user}, __metadata__={}, __files__=files))
    assert "sources" not in reply  # a command answers from the record, not from a search
    return reply["choices"][0]["message"]["content"]


def test_show_gives_a_readable_papers_details_by_title_words_or_id(papermage_kb):
    module, valves, pm_id = papermage_kb
    by_words = _ask_pipe(module, valves, "/show papermage toolkit")
    assert by_words.startswith("### PaperMage: A Unified Toolkit")
    assert f"id `{pm_id}`" in by_words and "Kyle Lo" in by_words
    assert "We introduce papermage" in by_words.split("**Abstract**")[1]
    sections = by_words.split("**Sections**")[1].split("\n\n")[1].splitlines()
    assert "- 1 Introduction, p. 1–2" in sections and "- 5 Conclusion, p. 6" in sections
    outside = by_words.split("**Cites outside the library**")[1]
    assert "SciBERT: A pretrained language model for scientific text (2019)" in outside
    assert "[arXiv](https://arxiv.org/abs/2310.07581)" in outside  # Qlarify, by its arXiv id
    assert _ask_pipe(module, valves, f"/show {pm_id}") == by_words


def test_show_gives_nothing_of_a_paper_the_user_cannot_read(papermage_kb):
    module, valves, pm_id = papermage_kb
    for text in ("/show PaperMage", f"/show {pm_id}"):
        answer = _ask_pipe(module, valves, text, user="mallory")
        assert "PaperMage" not in answer and pm_id not in answer
        assert answer.startswith("No readable paper is attached")
    # readable knowledge, but the paper is not in it: a chat holding only the sample file
    answer = _ask_pipe(module, valves, f"/show {pm_id}", files=[{"type": "file", "id": "f-md"}])
    assert answer == f"No readable paper matches “{pm_id}”."


def test_show_with_words_of_several_titles_lists_them_to_pick_from(papermage_kb):
    module, valves, pm_id = papermage_kb
    answer = _ask_pipe(module, valves, "/show scientific")
    lines = [line for line in answer.splitlines() if re.match(r"\d+\. ", line)]
    assert len(lines) == 2 and f"`/show {pm_id}`" in answer
    assert any("Graph-Augmented Retrieval for Scientific Papers" in line for line in lines)
    assert "**Abstract**" not in answer


def test_help_lists_the_show_command(papermage_kb):
    module, valves, _ = papermage_kb
    answer = _ask_pipe(module, valves, "/help", files=[])
    assert "`/show <paper id or title words>`" in answer and "`/help`" in answer
