"""The Assistant Pipe on Open WebUI's own models, and what it tells a user with nothing to read.

Open WebUI's chat completion path is replaced here by a recorder (the real one runs in the
e2e suite, tests/e2e); its SSE replies are parsed from a real Starlette StreamingResponse."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from starlette.responses import JSONResponse, StreamingResponse

import test_openwebui_bridge as base
from scholargraph.faces import openwebui as sg
from scholargraph.faces.openwebui import connections, sources

PIPE = base.FUNCTION_FILES["Pipe"]
QUESTION = "How do citation graphs help dense retrieval?"


@pytest.fixture
def owui(tmp_path, shared_data, monkeypatch) -> base.FakeOpenWebUI:
    fake = base.FakeOpenWebUI(tmp_path, shared_data / "docs")
    fake.add_file("f-md", "sample.md", "alice")
    fake.knowledge["kb1"] = ["f-md"]
    fake.readers["kb1"] = {"alice"}
    fake.install(monkeypatch)
    return fake


@pytest.fixture
def no_env_llm(monkeypatch):
    for name in ("SCHOLARGRAPH_LLM__BASE_URL", "SCHOLARGRAPH_LLM__MODEL"):
        monkeypatch.delenv(name, raising=False)


class Models:
    """Open WebUI's chat completion path as the Pipe sees it: records each call, streams a reply."""

    def __init__(self, reply: list[str] | Exception) -> None:
        self.calls: list[dict] = []
        self.reply = reply

    async def __call__(self, request, user, model_id, messages, temperature=None):
        self.calls.append({"request": request, "user": user, "model": model_id, "messages": messages})
        if isinstance(self.reply, Exception):
            raise self.reply
        for piece in self.reply:
            yield piece


def ask(valves, *, user_valves=None, files=None, user="alice", question=QUESTION) -> dict:
    module = base.load(PIPE)
    pipe = module.Pipe()
    pipe.valves = valves
    body = {"model": "scholargraph_pipe.scholargraph-assistant", "stream": False,
            "messages": [{"role": "user", "content": question}]}
    who = {"id": user, "role": "user", "valves": user_valves or module.Pipe.UserValves()}
    files = [{"type": "collection", "id": "kb1"}] if files is None else files
    return asyncio.run(pipe.pipe(body, __user__=who, __metadata__={}, __files__=files, __request__="the request"))


def test_the_assistant_answers_through_the_open_webui_model_the_admin_picked(owui, tmp_path, monkeypatch, no_env_llm):
    models = Models(["Graphs add ", "neighbours [1]."])
    monkeypatch.setattr(connections, "chat_stream", models)
    module = base.load(PIPE)
    valves = module.Pipe.Valves(data_dir=str(tmp_path / "library"), base_model="stub-model")
    reply = ask(valves)
    assert reply["choices"][0]["message"]["content"] == "Graphs add neighbours [1]."
    assert reply["sources"][0]["source"]["type"] == "scholargraph"
    call = models.calls[0]
    assert call["model"] == "stub-model" and call["request"] == "the request" and call["user"]["id"] == "alice"
    system, question = call["messages"]
    assert system["content"].startswith("You are ScholarGraph") and "<source id=\"1\"" in question["content"]
    assert question["content"].endswith(QUESTION)

    # a user's own choice wins over the admin's
    ask(valves, user_valves=module.Pipe.UserValves(base_model="their-model"))
    assert models.calls[-1]["model"] == "their-model"


def test_open_webui_refusing_the_model_gives_the_quoted_answer_naming_the_valve(owui, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(connections, "chat_stream", Models(connections.ModelError("Model not found")))
    module = base.load(PIPE)
    with caplog.at_level("INFO", logger="scholargraph"):
        reply = ask(module.Pipe.Valves(data_dir=str(tmp_path / "library"), base_model="gone-model"))
    content = reply["choices"][0]["message"]["content"]
    assert content.startswith("> ") and "[1]" in content
    assert "gone-model" in content and "Model not found" in content and "base_model" in content
    ours = [r for r in caplog.records if r.name.startswith("scholargraph.openwebui") and r.levelname != "INFO"]
    assert len(ours) == 1 and not ours[0].exc_info


def test_without_any_model_the_answer_is_quoted_and_names_the_base_model_valve(owui, tmp_path, monkeypatch, no_env_llm):
    called = Models(["never"])
    monkeypatch.setattr(connections, "chat_stream", called)
    module = base.load(PIPE)
    content = ask(module.Pipe.Valves(data_dir=str(tmp_path / "library")))["choices"][0]["message"]["content"]
    assert "base_model" in content and "[1]" in content and not called.calls


def test_a_user_without_access_is_told_nothing_readable_is_attached(owui, tmp_path, no_env_llm):
    module = base.load(PIPE)
    valves = module.Pipe.Valves(data_dir=str(tmp_path / "library"))
    content = ask(valves, user="mallory")["choices"][0]["message"]["content"]
    assert content.startswith("No readable paper is attached") and "no access" in content
    content = ask(valves, files=[])["choices"][0]["message"]["content"]
    assert content.startswith("Attach a knowledge base")


def test_the_base_model_valve_lists_open_webuis_models_and_is_drawn_first():
    module = base.load(PIPE)
    pool = {"stub-model": {"id": "stub-model", "name": "stub-model"},
            "gpt-x": {"id": "gpt-x", "name": "GPT X"},
            "scholargraph_pipe.scholargraph-assistant": {"id": "scholargraph_pipe.scholargraph-assistant"}}
    options = connections.model_options(pool)
    assert [o["value"] for o in options] == ["", "gpt-x", "stub-model"]
    assert options[1]["label"] == "GPT X (gpt-x)"
    schema = module.Pipe.Valves.model_json_schema()["properties"]
    assert list(schema)[0] == "base_model" and schema["base_model"]["input"]["type"] == "select"
    assert schema["llm_api_key"]["input"] == {"type": "password"}
    assert "None" not in schema["embedding_dimensions"]["description"]
    assert callable(getattr(module.Pipe.UserValves, schema["base_model"]["input"]["options"]))


async def _collect(response) -> list[str]:
    return [p async for p in connections._pieces(response)]


def test_open_webuis_streamed_and_plain_replies_become_text():
    async def sse():
        for text in ("Graphs ", "help [1]."):
            yield f"data: {json.dumps({'choices': [{'delta': {'content': text}}]})}\n\n".encode()
        yield b"data: [DONE]\n\n"

    assert asyncio.run(_collect(StreamingResponse(sse(), media_type="text/event-stream"))) == ["Graphs ", "help [1]."]
    done = {"choices": [{"message": {"content": "whole answer"}}]}
    assert asyncio.run(_collect(done)) == ["whole answer"]
    with pytest.raises(connections.ModelError, match="401.*bad key"):
        asyncio.run(_collect(JSONResponse({"detail": "bad key"}, status_code=401)))

    async def broken():
        yield b'data: {"error": {"message": "upstream down"}}\n\n'

    with pytest.raises(connections.ModelError, match="upstream down"):
        asyncio.run(_collect(StreamingResponse(broken())))


def test_status_lines_count_in_words():
    pack = SimpleNamespace(cited=[SimpleNamespace(relation="", passages=[1] * 8),
                                  SimpleNamespace(relation="cites [1]", passages=[1])])
    assert sources.summary_line(pack) == "8 passages from 1 paper, graph: 1 neighbour"
    assert sources.plural(2, "link") == "2 links" and sources.plural(1, "link") == "1 link"


def test_the_filter_says_how_much_of_a_knowledge_base_is_indexed_and_why_a_file_failed(owui, tmp_path):
    broken = tmp_path / "f-bad_scan.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    owui.files["f-bad"] = SimpleNamespace(id="f-bad", filename="scan.pdf", meta={"name": "scan.pdf"}, path=str(broken))
    owui.knowledge["kb1"] = ["f-md", "f-bad"]
    events: list[dict] = []

    async def emitter(event):
        events.append(event)

    valves = base.load(base.FUNCTION_FILES["Filter"]).Filter.Valves(data_dir=str(tmp_path / "library"))
    body = {"model": "m", "messages": [{"role": "user", "content": QUESTION}], "files": [{"type": "collection", "id": "kb1"}]}
    asyncio.run(sg.filter_inlet(body, valves=valves, user={"id": "alice"}, metadata={}, emitter=emitter))
    lines = [e["data"]["description"] for e in events]
    state = [t for t in lines if t.startswith("ScholarGraph: 1 of 2 papers indexed, 1 failed: scan.pdf — ")]
    assert state and "scan.pdf:" not in state[0], lines
    assert owui.files["f-bad"].meta["scholargraph"]["status"] == "failed"
    assert "1 failed: scan.pdf" in lines[-1] and events[-1]["data"]["done"]

    # the next chat does not try the broken file again, and still says so
    events.clear()
    asyncio.run(sg.filter_inlet(dict(body, files=[{"type": "collection", "id": "kb1"}]), valves=valves,
                                user={"id": "alice"}, metadata={}, emitter=emitter))
    lines = [e["data"]["description"] for e in events]
    assert not any("indexing scan.pdf" in t for t in lines)
    assert any(t.startswith("ScholarGraph: 1 of 2 papers indexed, 1 failed: scan.pdf") for t in lines), lines


def test_the_graph_action_heads_its_drawing_with_each_knowledge_bases_indexing_state(owui, tmp_path):
    broken = tmp_path / "f-bad_scan.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    owui.files["f-bad"] = SimpleNamespace(id="f-bad", filename="scan.pdf", meta={"name": "scan.pdf"}, path=str(broken))
    owui.knowledge["kb1"] = ["f-md", "f-bad"]
    valves = base.load(base.FUNCTION_FILES["Filter"]).Filter.Valves(data_dir=str(tmp_path / "library"))
    asyncio.run(sg.filter_inlet({"model": "m", "messages": [{"role": "user", "content": QUESTION}],
                                 "files": [{"type": "collection", "id": "kb1"}]}, valves=valves, user={"id": "alice"}))
    library = sg.get_library(sg.settings_from_valves(valves))
    paper = library.papers(["kb:kb1"])[0]
    message = {"id": "a1", "role": "assistant", "sources": [
        {"source": {"type": "scholargraph", "paper_id": paper["id"], "scopes": ["kb:kb1"]}}]}
    action = base.load(base.FUNCTION_FILES["Action"]).Action.Valves(data_dir=valves.data_dir)
    html = asyncio.run(sg.graph_embed({"id": "a1", "messages": [message]}, valves=action, user={"id": "alice"}))
    assert "kb1: 1 of 2 papers indexed, 1 failed: scan.pdf — " in html
    html = asyncio.run(sg.graph_embed({"id": "a1", "messages": [message]}, valves=action, user={"id": "mallory"}))
    assert "papers indexed" not in html  # nothing of a knowledge base the user may not read


def test_status_lists_each_attached_knowledge_bases_indexing_state_without_indexing(owui, tmp_path, no_env_llm):
    """/status: what Open WebUI's Knowledge page cannot show (it lists files, not ScholarGraph's state)."""
    broken = tmp_path / "f-bad_scan.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    owui.files["f-bad"] = SimpleNamespace(id="f-bad", filename="scan.pdf", meta={"name": "scan.pdf"}, path=str(broken))
    owui.knowledge["kb1"] = ["f-md", "f-bad"]
    module = base.load(PIPE)
    valves = module.Pipe.Valves(data_dir=str(tmp_path / "library"))
    content = ask(valves, question="/status")["choices"][0]["message"]["content"]
    assert "kb1: 0 of 2 papers indexed, 2 still to index" in content, content  # /status indexed nothing
    assert "scholargraph" not in owui.files["f-bad"].meta

    ask(valves)  # a question indexes the knowledge base: sample.md is read, scan.pdf fails
    content = ask(valves, question="/status")["choices"][0]["message"]["content"]
    assert "kb1: 1 of 2 papers indexed, 1 failed: scan.pdf — " in content, content
    assert "/status" in ask(valves, question="/help")["choices"][0]["message"]["content"]
    content = ask(valves, user="mallory", question="/status")["choices"][0]["message"]["content"]
    assert "papers indexed" not in content and content.startswith("No readable paper is attached")
