"""compose/install_functions.py with just a URL and an admin API key: functions switched on by
reading their state (never toggled blindly), models given a read-for-users record so the graph
Action works for non-admins, the Assistant's base model preset. The real Open WebUI run is in
tests/e2e (test_installer_run_again_changes_nothing)."""

from __future__ import annotations

import json

import httpx

import test_compose as compose_tests

KEY = "sk-admin-key"


class FakeOpenWebUI(compose_tests.FakeOpenWebUI):
    """Adds API-key auth and the model endpoints the installer uses."""

    def __init__(self) -> None:
        super().__init__()
        self.models = [{"id": "stub-model", "name": "Stub"}, {"id": "gpt-x", "name": "GPT X"}]
        self.records: dict[str, dict] = {"gpt-x": {"id": "gpt-x", "access_grants": []}}
        self.retrieval = {"CONTENT_EXTRACTION_ENGINE": "", "EXTERNAL_DOCUMENT_LOADER_URL": "",
                          "EXTERNAL_DOCUMENT_LOADER_API_KEY": "", "CHUNK_SIZE": 1000}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        auth = request.headers.get("Authorization")
        if auth == f"Bearer {KEY}":
            request.headers["Authorization"] = "Bearer t0k"  # the parent checks its own token
        elif path.startswith("/api/") and path != "/api/v1/auths/signin":
            self.calls.append(f"{request.method} {path}")
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if path == "/api/v1/functions/list":
            self.calls.append(f"GET {path}")
            return httpx.Response(200, json=list(self.functions.values()))
        if path == "/api/models":
            self.calls.append(f"GET {path}")
            pipes = [{"id": f"{fid}.scholargraph-assistant", "name": "ScholarGraph Assistant"}
                     for fid, fn in self.functions.items() if fn["type"] == "pipe"]
            return httpx.Response(200, json={"data": self.models + pipes})
        if path == "/api/v1/models/all":
            self.calls.append(f"GET {path}")
            return httpx.Response(200, json=list(self.records.values()))
        if path == "/api/v1/retrieval/config":
            self.calls.append(f"GET {path}")
            return httpx.Response(200, json=self.retrieval)
        if path == "/api/v1/retrieval/config/update":
            self.calls.append(f"POST {path}")
            self.retrieval.update({k: v for k, v in json.loads(request.content).items() if v is not None})
            return httpx.Response(200, json=self.retrieval)
        if path == "/api/v1/models/model/access/update":
            self.calls.append(f"POST {path}")
            body = json.loads(request.content)
            self.records[body["id"]] = body
            return httpx.Response(200, json=body)
        return super().__call__(request)


PIPE = '"""\ntitle: ScholarGraph Assistant\n"""\nclass Pipe:\n    class Valves:\n        pass\n'


def _folder(tmp_path):
    folder = tmp_path / "openwebui"
    folder.mkdir()
    (folder / "scholargraph_filter.py").write_text(compose_tests.FILTER_SOURCE)
    (folder / "scholargraph_pipe.py").write_text(PIPE)
    return folder


def test_a_url_and_an_api_key_install_everything_and_share_the_models(tmp_path, capsys):
    installer = compose_tests._load_installer()
    fake = FakeOpenWebUI()
    transport = httpx.MockTransport(fake)
    argv = ["--url", "http://owui.test", "--api-key", KEY, "--functions-dir", str(_folder(tmp_path)),
            "--wait", "5", "--share-models", "*", "--assistant-model", "stub-model"]

    assert installer.main({}, transport, argv) == 0
    out = capsys.readouterr().out
    assert fake.functions["scholargraph_filter"]["is_global"] and fake.functions["scholargraph_pipe"]["is_active"]
    # the Assistant and the model without a record get read for all users; the recorded one is the admin's
    grant = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]
    assert fake.records["scholargraph_pipe.scholargraph-assistant"]["access_grants"] == grant
    assert fake.records["stub-model"]["access_grants"] == grant and fake.records["stub-model"]["name"] == "Stub"
    assert fake.records["gpt-x"]["access_grants"] == []
    assert "model stub-model: shared" in out and "model gpt-x: kept" in out
    assert not any("/auths/signin" in c for c in fake.calls)

    # run again: nothing switched, nothing re-created; an admin who switched a function off... gets it on again
    fake.calls.clear()
    assert installer.main({}, transport, argv) == 0
    assert not [c for c in fake.calls if c.endswith(("/create", "/update", "/toggle", "/toggle/global", "/access/update"))]
    fake.functions["scholargraph_filter"]["is_global"] = False
    assert installer.main({}, transport, argv) == 0
    assert fake.calls.count("POST /api/v1/functions/id/scholargraph_filter/toggle/global") == 1
    assert fake.functions["scholargraph_filter"]["is_global"] and fake.functions["scholargraph_filter"]["is_active"]


def test_the_assistant_model_preset_lands_in_the_pipes_base_model_valve(tmp_path):
    installer = compose_tests._load_installer()
    fake = FakeOpenWebUI()
    original = fake.__call__

    def with_spec(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/scholargraph_pipe/valves/spec"):
            return httpx.Response(200, json={"properties": {"base_model": {}, "top_k": {}}})
        return original(request)

    argv = ["--url", "http://owui.test", "--api-key", KEY, "--functions-dir", str(_folder(tmp_path)),
            "--wait", "5", "--assistant-model", "stub-model"]
    assert installer.main({}, httpx.MockTransport(with_spec), argv) == 0
    assert fake.valves["scholargraph_pipe"] == {"base_model": "stub-model"}
    assert "stub-model" not in fake.records  # shared only when asked


def test_a_key_that_is_not_an_admins_is_refused(tmp_path, capsys):
    installer = compose_tests._load_installer()
    argv = ["--url", "http://owui.test", "--api-key", "sk-wrong", "--functions-dir", str(_folder(tmp_path)), "--wait", "5"]
    assert installer.main({}, httpx.MockTransport(FakeOpenWebUI()), argv) == 1
    assert "refused the API key" in capsys.readouterr().err


def test_the_service_becomes_open_webuis_document_loader_once(tmp_path, capsys):
    installer = compose_tests._load_installer()
    fake = FakeOpenWebUI()
    transport = httpx.MockTransport(fake)
    argv = ["--url", "http://owui.test", "--api-key", KEY, "--functions-dir", str(_folder(tmp_path)), "--wait", "5",
            "--loader-url", "http://scholargraph:8765/", "--loader-key", "sg-key"]
    assert installer.main({}, transport, argv) == 0
    assert fake.retrieval == {"CONTENT_EXTRACTION_ENGINE": "external", "EXTERNAL_DOCUMENT_LOADER_URL": "http://scholargraph:8765",
                              "EXTERNAL_DOCUMENT_LOADER_API_KEY": "sg-key", "CHUNK_SIZE": 1000}  # the rest untouched
    assert "document loader http://scholargraph:8765: set" in capsys.readouterr().out

    fake.calls.clear()
    assert installer.main({}, transport, argv) == 0  # a second run reads the setting and leaves it
    assert "POST /api/v1/retrieval/config/update" not in fake.calls
    assert "document loader http://scholargraph:8765: unchanged" in capsys.readouterr().out

    env = {"SCHOLARGRAPH_LOADER_URL": "http://scholargraph:8765", "SCHOLARGRAPH_LOADER_KEY": "rotated"}
    assert installer.main(env, transport, argv[:-4]) == 0  # compose passes them in the environment
    assert fake.retrieval["EXTERNAL_DOCUMENT_LOADER_API_KEY"] == "rotated"
    assert installer.main({}, transport, argv[:-4]) == 0  # without --loader-url the setting is left alone
    assert fake.retrieval["EXTERNAL_DOCUMENT_LOADER_API_KEY"] == "rotated"
