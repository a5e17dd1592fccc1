"""ScholarGraph inside a real Open WebUI 0.12.4: functions installed through the API, a knowledge
base indexed by the Event function, graph-aware chats with sources, access between users,
removal, the assistant Pipe, the graph Action and the external document loader."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from owui import INSTALL_ARGS, KB, S2ORC, Loader, OpenWebUI, run_installer, upload
from stub_llm import MODEL, OPENING

pytestmark = pytest.mark.openwebui

PIPE_MODEL = "scholargraph_pipe.scholargraph-assistant"
GRAPH_QUESTION = "How do reading interfaces and PDF processing toolkits use the S2ORC corpus?"


def chat(owui: OpenWebUI, token: str, question: str, files: list[dict], model: str = MODEL,
         stream: bool = False) -> dict:
    """A chat completion through Open WebUI's own API; a stream is read back into one reply."""
    body = {"model": model, "stream": stream, "files": files,
            "messages": [{"role": "user", "content": question}]}
    if not stream:
        return owui.ok("POST", "/api/chat/completions", token, json=body)
    reply: dict = {"content": "", "events": []}
    with httpx.stream("POST", owui.url + "/api/chat/completions", json=body, timeout=300,
                      headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if not line.startswith("data:") or line.strip() == "data: [DONE]":
                continue
            data = json.loads(line[5:])
            reply["events"].append(data)
            if "sources" in data:
                reply["sources"] = data["sources"]
            for choice in data.get("choices") or []:
                reply["content"] += (choice.get("delta") or {}).get("content") or ""
    return reply


def scholargraph_sources(reply: dict) -> list[dict]:
    return [s for s in reply.get("sources") or [] if (s.get("source") or {}).get("type") == "scholargraph"]


def new_prompts(owui: OpenWebUI, before: int) -> list[str]:
    return owui.stub.prompts()[before:]


def test_functions_are_installed_with_their_valves(owui: OpenWebUI, admin: str, functions: dict):
    valves = owui.ok("GET", "/api/v1/functions/id/scholargraph_filter/valves", admin)
    assert valves["top_k"] == 6 and valves["file_handler"] is True
    spec = owui.ok("GET", "/api/v1/functions/id/scholargraph_filter/valves/spec", admin)
    assert "Graph hops" in spec["properties"]["hops"]["description"]
    models = {m["id"] for m in owui.ok("GET", "/api/models", admin)["data"]}
    assert {MODEL, PIPE_MODEL} <= models
    assert all(f["is_active"] for f in functions.values())
    assert functions["scholargraph_filter"]["is_global"] and functions["scholargraph_action"]["is_global"]
    # the Assistant writes with an Open WebUI connection's model, picked from the models Open WebUI lists
    pipe = owui.ok("GET", "/api/v1/functions/id/scholargraph_pipe/valves", admin)
    assert pipe["base_model"] == MODEL and not pipe.get("llm_url") and not pipe.get("llm_model")
    pipe_spec = owui.ok("GET", "/api/v1/functions/id/scholargraph_pipe/valves/spec", admin)["properties"]
    assert list(pipe_spec)[0] == "base_model"
    assert MODEL in [o["value"] for o in pipe_spec["base_model"]["input"]["options"]]
    assert pipe_spec["llm_api_key"]["input"]["type"] == "password"
    user_spec = owui.ok("GET", "/api/v1/functions/id/scholargraph_pipe/valves/user/spec", admin)["properties"]
    assert MODEL in [o["value"] for o in user_spec["base_model"]["input"]["options"]]
    assert f"model {PIPE_MODEL}: shared" in owui.install_output and f"model {MODEL}: shared" in owui.install_output


def test_installer_run_again_changes_nothing(owui: OpenWebUI, admin: str, admin_key: str, functions: dict,
                                             loader: Loader):
    assert f"document loader {loader.url}: set" in owui.install_output
    code, out = run_installer(owui, admin_key, *INSTALL_ARGS, *loader.install_args)
    assert code == 0, out
    assert all(f"{fid}: unchanged, active" in out for fid in functions), out
    assert "model %s: kept" % MODEL in out
    assert f"document loader {loader.url}: unchanged" in out
    config = owui.ok("GET", "/api/v1/retrieval/config", admin)
    assert (config["CONTENT_EXTRACTION_ENGINE"], config["EXTERNAL_DOCUMENT_LOADER_URL"]) == ("external", loader.url)
    for fid, before in functions.items():
        now = owui.ok("GET", f"/api/v1/functions/id/{fid}", admin)
        assert (now["is_active"], now["is_global"]) == (before["is_active"], before["is_global"]), fid
    assert owui.ok("GET", "/api/v1/functions/id/scholargraph_filter/valves", admin)["top_k"] == 6
    code, out = run_installer(owui, "not-a-key")
    assert code == 1 and "refused the API key" in out


def test_event_function_indexed_the_knowledge_base(kb: KB):
    assert "S2ORC" in kb.titles[S2ORC]
    assert all(kb.titles.values()), kb.titles


def test_chat_gets_passages_and_graph_neighbours_with_sources(owui: OpenWebUI, admin: str, kb: KB):
    before = len(owui.stub.requests)
    # a question PaperMage's passages also answer: since neighbours must earn their place
    # (retrieval.neighbour_floor), "which later work builds on S2ORC?" alone brings S2ORC only
    reply = chat(owui, admin, GRAPH_QUESTION, [{"type": "collection", "id": kb.id}])
    sources = scholargraph_sources(reply)
    assert sources, reply
    names = [s["source"]["name"] for s in sources]
    assert names[0] == kb.titles[S2ORC], names  # the paper asked about comes first, as [1]
    neighbours = [s for s in sources if s["metadata"][0].get("relation")]
    assert neighbours, names
    assert {s["source"]["name"] for s in neighbours} & {kb.titles["papermage.pdf"], kb.titles["2302.07302v1.pdf"]}
    for src in sources:
        assert src["document"] and len(src["document"]) == len(src["metadata"])
        assert src["source"]["url"].startswith(owui.url + "/api/v1/files/")

    prompts = [p for p in new_prompts(owui, before) if "<source" in p]
    assert len(prompts) == 1, new_prompts(owui, before)
    prompt = prompts[0]
    assert f'<source id="1" name="{kb.titles[S2ORC]}"' in prompt
    assert "Graph neighbour" in prompt and "cites [1]" in prompt
    assert kb.titles["papermage.pdf"] in prompt or kb.titles["2302.07302v1.pdf"] in prompt
    assert "[1]" in reply["choices"][0]["message"]["content"]


def test_streamed_chat_carries_sources_first(owui: OpenWebUI, admin: str, kb: KB):
    reply = chat(owui, admin, "What is S2ORC?", [{"type": "collection", "id": kb.id}], stream=True)
    assert scholargraph_sources(reply)
    assert "sources" in reply["events"][0]
    assert "[1]" in reply["content"]


def test_other_user_cannot_read_a_private_knowledge_base(owui: OpenWebUI, admin: str, kb: KB):
    # Open WebUI closes signup after the first (admin) account; the admin opens it again
    config = owui.ok("GET", "/api/v1/auths/admin/config", admin)
    owui.ok("POST", "/api/v1/auths/admin/config", admin, json=config | {"ENABLE_SIGNUP": True})
    body = owui.ok("POST", "/api/v1/auths/signup",
                   json={"name": "Bob User", "email": "bob@example.org", "password": "another pass 2"})
    assert body["role"] == "pending"
    owui.ok("POST", f"/api/v1/users/{body['id']}/update", admin, json={"role": "user"})
    bob = owui.ok("POST", "/api/v1/auths/signin", json={"email": "bob@example.org", "password": "another pass 2"})
    assert bob["role"] == "user"
    token = bob["token"]
    assert owui.api("GET", f"/api/v1/knowledge/{kb.id}", token).status_code >= 400  # Open WebUI's own verdict

    before = len(owui.stub.requests)
    reply = chat(owui, token, "Which later work builds on the S2ORC corpus?", [{"type": "collection", "id": kb.id}])
    assert not scholargraph_sources(reply)
    assert not reply.get("sources")
    prompts = new_prompts(owui, before)
    assert prompts and not any("<source" in p for p in prompts)
    assert all(t not in p for p in prompts for t in kb.titles.values())

    # a paper Bob attaches to his chat is his: another user who names its file id gets nothing
    own = upload(owui, token, Path(__file__).resolve().parents[2].parent / "shared" / "data" / "docs" / "sample.md")
    mine = chat(owui, token, "What does graph expansion add to dense retrieval?", [{"type": "file", "id": own["id"]}])
    assert scholargraph_sources(mine)
    cy = owui.ok("POST", "/api/v1/auths/signup", json={"name": "Cy", "email": "cy@example.org", "password": "third pass 3"})
    owui.ok("POST", f"/api/v1/users/{cy['id']}/update", admin, json={"role": "user"})
    cy = owui.ok("POST", "/api/v1/auths/signin", json={"email": "cy@example.org", "password": "third pass 3"})["token"]
    theirs = chat(owui, cy, "What does graph expansion add to dense retrieval?", [{"type": "file", "id": own["id"]}])
    assert not scholargraph_sources(theirs)


def test_assistant_pipe_answers_through_open_webuis_own_connection(owui: OpenWebUI, admin: str, kb: KB):
    """The stub LLM is only an Open WebUI connection (OPENAI_API_BASE_URL); the Pipe has no LLM valves."""
    before = len(owui.stub.requests)
    reply = chat(owui, admin, "Which later work builds on S2ORC?", [{"type": "collection", "id": kb.id}],
                 model=PIPE_MODEL, stream=True)
    sources = scholargraph_sources(reply)
    assert sources and sources[0]["source"]["name"] == kb.titles[S2ORC]
    assert reply["content"].startswith(OPENING), reply["content"]
    assert "[1]" in reply["content"] and "Quoted from your papers" not in reply["content"]
    assert len([e for e in reply["events"] if e.get("choices")]) > 3  # streamed, piece by piece
    prompts = new_prompts(owui, before)
    ours = [i for i, p in enumerate(prompts) if "You are ScholarGraph" in p and "<source id=\"1\"" in p]
    assert ours, prompts
    assert owui.stub.auth[before + ours[0]] == "Bearer stub-key"  # the connection's own key, sent by Open WebUI


def test_show_paper_graph_action_embeds_html(owui: OpenWebUI, admin: str, kb: KB):
    question = "Which later work builds on S2ORC?"
    reply = chat(owui, admin, question, [{"type": "collection", "id": kb.id}])
    html = run_graph_action(owui, admin, MODEL, *save_chat(
        owui, admin, MODEL, question, reply["choices"][0]["message"]["content"], reply["sources"]))
    assert "<svg" in html and kb.titles[S2ORC] in html
    assert f"/api/v1/files/{kb.files[S2ORC]}/content" in html
    assert "Scholarly document processing: 3 of 3 papers indexed" in html  # the knowledge base's state


def save_chat(owui: OpenWebUI, token: str, model: str, question: str, reply_text: str, sources: list) -> tuple[str, str, dict]:
    """Store a chat as Open WebUI's web client does: (chat id, answer id, messages by id)."""
    user_id, answer_id = str(uuid.uuid4()), str(uuid.uuid4())
    messages = {
        user_id: {"id": user_id, "parentId": None, "childrenIds": [answer_id], "role": "user",
                  "content": question, "timestamp": int(time.time())},
        answer_id: {"id": answer_id, "parentId": user_id, "childrenIds": [], "role": "assistant", "model": model,
                    "content": reply_text, "sources": sources, "done": True, "timestamp": int(time.time())},
    }
    saved = owui.ok("POST", "/api/v1/chats/new", token, json={"chat": {
        "title": "graph", "models": [model], "history": {"messages": messages, "currentId": answer_id},
        "messages": list(messages.values())}})
    return saved["id"], answer_id, messages


def run_graph_action(owui: OpenWebUI, token: str, model: str, chat_id: str, answer_id: str, messages: dict) -> str:
    """Click "Show paper graph" under the answer: the embed Open WebUI stores with the message."""
    owui.ok("POST", "/api/chat/actions/scholargraph_action", token, json={
        "model": model, "chat_id": chat_id, "id": answer_id, "session_id": "e2e",
        "messages": [{k: m[k] for k in ("id", "role", "content") if k in m} | (
            {"sources": m["sources"]} if "sources" in m else {}) for m in messages.values()],
    })
    stored = owui.ok("GET", f"/api/v1/chats/{chat_id}", token)["chat"]["history"]["messages"][answer_id]
    return stored["embeds"][0]


def test_a_non_admin_user_gets_the_paper_graph(owui: OpenWebUI, admin: str, kb: KB, shared_data: Path):
    """Open WebUI 0.12.4 checks model access on every Action for non-admins (BYPASS_MODEL_ACCESS_CONTROL
    or not); the installer's model records let every user who may chat with the model use it."""
    dee = owui.ok("POST", "/api/v1/auths/add", admin, json={
        "name": "Dee Researcher", "email": "dee@example.org", "password": "dee pass 4", "role": "user"})
    token = owui.ok("POST", "/api/v1/auths/signin", json={"email": "dee@example.org", "password": "dee pass 4"})
    assert token["role"] == "user" and dee["role"] == "user"
    token = token["token"]
    own = upload(owui, token, shared_data / "docs" / "sample.md")
    question = "What does graph expansion add to dense retrieval?"
    for model in (MODEL, PIPE_MODEL):
        reply = chat(owui, token, question, [{"type": "file", "id": own["id"]}], model=model, stream=True)
        sources = scholargraph_sources(reply)
        assert sources, (model, reply)
        html = run_graph_action(owui, token, model, *save_chat(owui, token, model, question, reply["content"], sources))
        assert "<svg" in html and sources[0]["source"]["name"] in html, model
        assert kb.titles[S2ORC] not in html  # the admin's private knowledge base stays out of her graph


def test_removed_file_leaves_the_answers(owui: OpenWebUI, admin: str, kb: KB):
    gone = "papermage.pdf"
    owui.ok("POST", f"/api/v1/knowledge/{kb.id}/file/remove", admin, json={"file_id": kb.files[gone]})
    before = len(owui.stub.requests)
    reply = chat(owui, admin, "Which later work builds on the S2ORC corpus?", [{"type": "collection", "id": kb.id}])
    names = [s["source"]["name"] for s in scholargraph_sources(reply)]
    assert names and kb.titles[gone] not in names
    assert all(kb.titles[gone] not in p for p in new_prompts(owui, before))
