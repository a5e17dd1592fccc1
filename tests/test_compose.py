"""The production stack's compose file: valid Compose, wired the way docs/deployment.md says.

No Docker engine is needed: the file is loaded as YAML, ``${VAR...}`` substituted from
``compose/.env.example`` the way ``docker compose`` does, and validated against the official
Compose Specification schema (shipped inside the check-jsonschema package, Apache-2.0). Then the
wiring is checked per profile: which services run, what they depend on, the vLLM flags, and that
every ScholarGraph and Open WebUI variable names a setting that exists.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from scholargraph.embedding.instructions import format_query
from scholargraph.settings import Settings

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "compose" / "docker-compose.yml"
ENV_EXAMPLE = REPO / "compose" / ".env.example"
DOCKERFILE = REPO / "compose" / "Dockerfile"
DEPLOYMENT_DOC = REPO / "docs" / "deployment.md"

# Every Open WebUI variable the stack sets, checked by hand against open-webui 0.12.4's
# backend config.py and env.py (os.getenv names). A new one must be checked there, then added.
OPEN_WEBUI_0_12_ENV = {
    "WEBUI_SECRET_KEY", "WEBUI_ADMIN_EMAIL", "WEBUI_ADMIN_PASSWORD", "WEBUI_ADMIN_NAME",
    "DATABASE_URL", "ENABLE_OLLAMA_API", "ENABLE_VERSION_UPDATE_CHECK", "VECTOR_DB",
    "CHROMA_HTTP_HOST", "CHROMA_HTTP_PORT", "CONTENT_EXTRACTION_ENGINE",
    "EXTERNAL_DOCUMENT_LOADER_URL", "EXTERNAL_DOCUMENT_LOADER_API_KEY", "OPENAI_API_BASE_URL",
    "OPENAI_API_KEY", "OPENAI_API_BASE_URLS", "OPENAI_API_KEYS", "UVICORN_WORKERS",
    "RAG_EMBEDDING_ENGINE", "RAG_OPENAI_API_BASE_URL", "RAG_OPENAI_API_KEY", "RAG_EMBEDDING_MODEL",
    "RAG_EMBEDDING_BATCH_SIZE", "RAG_EMBEDDING_QUERY_PREFIX",
}
# Passed to every process for the libraries underneath (unstructured, chromadb), not settings.
TELEMETRY_ENV = {"DO_NOT_TRACK", "ANONYMIZED_TELEMETRY"}

PROFILE_SETS = [("gpu",), ("cpu",), ("gpu", "pipelines"), ("cpu", "pipelines")]


# -- loading the way docker compose does -------------------------------------------------------
def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; '#' comments and blank lines skipped; surrounding quotes removed."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


_VAR = re.compile(
    r"\$\$"  # escaped dollar
    r"|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>(?:[^{}]|\{[^{}]*\})*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        if match.group("bare"):
            return env.get(match.group("bare"), "")
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        value = env.get(name)
        if op is None:
            return value or ""
        empty_counts = op.startswith(":")
        missing = value is None or (empty_counts and value == "")
        if op.endswith("-"):
            return interpolate(arg, env) if missing else value
        if op.endswith("?"):
            if missing:
                raise ValueError(f"required variable {name} is missing: {arg}")
            return value
        return "" if missing else interpolate(arg, env)  # ":+" / "+"

    return _VAR.sub(replace, text)


def interpolate_tree(node, env: dict[str, str]):
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    return node


def load_compose(env: dict[str, str]) -> dict:
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return interpolate_tree(raw, env)


def enabled(config: dict, profiles: tuple[str, ...]) -> dict[str, dict]:
    """Services that run with these profiles: those without profiles, or sharing one."""
    return {
        name: svc
        for name, svc in config["services"].items()
        if not svc.get("profiles") or set(svc["profiles"]) & set(profiles)
    }


def depends(svc: dict) -> dict[str, dict]:
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: {"condition": "service_started", "required": True} for name in deps}
    return {name: {"required": True, **(spec or {})} for name, spec in deps.items()}


def env_of(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def command_list(svc: dict) -> list[str]:
    command = svc.get("command") or []
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def flag_value(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


def gpu_devices(svc: dict) -> list[dict]:
    devices = (((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
    return [d for d in devices if "gpu" in (d.get("capabilities") or [])]


def aliases(svc: dict) -> set[str]:
    networks = svc.get("networks") or {}
    if isinstance(networks, list):
        return set()
    return {a for net in networks.values() for a in ((net or {}).get("aliases") or [])}


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def config(env) -> dict:
    return load_compose(env)


@pytest.fixture(scope="module")
def schema() -> dict:
    path = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(path.read_text(encoding="utf-8"))


# -- the specification ---------------------------------------------------------------------------
def test_compose_file_is_valid_against_the_compose_specification(config, schema):
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_schema_would_catch_a_broken_file(config, schema):
    """The validation is not vacuous: a misspelt key and a wrong type are refused."""
    broken = json.loads(json.dumps(config))
    broken["services"]["chroma"]["healthcheck"]["intervall"] = "5s"
    broken["services"]["postgres"]["ports"] = "5432"
    assert len(list(jsonschema.Draft202012Validator(schema).iter_errors(broken))) >= 2


def test_env_example_defines_every_required_variable():
    """Every ${VAR:?...} in the compose file has a value in .env.example (else compose refuses)."""
    text = COMPOSE.read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", text))
    example = read_env_file(ENV_EXAMPLE)
    assert required and not {name for name in required if not example.get(name)}
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        load_compose({k: v for k, v in example.items() if k != "POSTGRES_PASSWORD"})


def test_interpolation_follows_compose_rules():
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $$SET ${SET:+alt} $SET", env) == "x d  d $SET alt x"
    with pytest.raises(ValueError):
        interpolate("${EMPTY:?needed}", env)


def test_named_volumes_and_configs_are_declared(config):
    for name, svc in config["services"].items():
        for volume in svc.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith((".", "/")):
                assert source in config["volumes"], f"{name}: volume {source} not declared"
        for cfg in svc.get("configs") or []:
            assert (cfg if isinstance(cfg, str) else cfg["source"]) in config["configs"]


# -- services and profiles -----------------------------------------------------------------------
def documented_services() -> set[str]:
    """Service names listed in docs/deployment.md's service table (first column, in backticks)."""
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    return set(re.findall(r"^\|\s*`([a-z0-9-]+)`\s*\|", text, flags=re.MULTILINE))


def test_every_documented_service_exists_and_every_service_is_documented(config):
    documented = documented_services()
    assert documented, "docs/deployment.md has no service table"
    assert documented == set(config["services"])


def test_profiles_are_gpu_cpu_and_optional_pipelines(config):
    used = {p for svc in config["services"].values() for p in svc.get("profiles") or []}
    assert used == {"gpu", "cpu", "pipelines"}
    always = set(enabled(config, ()))
    assert always == {"postgres", "chroma"}


@pytest.mark.parametrize("profiles", PROFILE_SETS, ids=["+".join(p) for p in PROFILE_SETS])
def test_dependencies_are_satisfiable_and_health_gated(config, profiles):
    services = enabled(config, profiles)
    for name, svc in services.items():
        for dep, spec in depends(svc).items():
            assert dep in config["services"], f"{name} depends on unknown {dep}"
            if spec.get("required", True):
                assert dep in services, f"{name} needs {dep}, which {profiles} does not run"
            if spec.get("condition") == "service_healthy" and dep in services:
                check = services[dep].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), f"{dep} has no healthcheck"
    long_running = [n for n, s in services.items() if s.get("restart") != "no"]
    for name in long_running:
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


@pytest.mark.parametrize("profiles", PROFILE_SETS, ids=["+".join(p) for p in PROFILE_SETS])
def test_one_scholargraph_and_one_open_webui_per_profile(config, profiles):
    services = enabled(config, profiles)
    for alias in ("scholargraph", "open-webui"):
        holders = [n for n, s in services.items() if alias in aliases(s) or n == alias]
        assert len(holders) == 1, f"{profiles}: {alias} served by {holders}"
    published = [p.rsplit(":", 2)[-2] for s in services.values() for p in s.get("ports") or []]
    assert len(published) == len(set(published)), f"{profiles}: host port clash {published}"
    assert "functions-installer" in services


@pytest.mark.parametrize("profiles", PROFILE_SETS, ids=["+".join(p) for p in PROFILE_SETS])
def test_only_the_tls_proxy_publishes_a_port(config, profiles):
    """Open WebUI behind TLS is the way in; the service, vLLM, Chroma and PostgreSQL stay inside."""
    services = enabled(config, profiles)
    published = {name: svc["ports"] for name, svc in services.items() if svc.get("ports")}
    assert list(published) == ["caddy"], published
    assert [str(p).rsplit(":", 1)[-1] for p in published["caddy"]] == ["443"]
    proxy = env_of(services["caddy"])
    host, port = proxy["UPSTREAM"].split(":")
    holders = [n for n, s in services.items() if host in aliases(s) or n == host]
    assert len(holders) == 1 and port == "8080", (holders, proxy["UPSTREAM"])
    assert {d for d, spec in depends(services["caddy"]).items() if d in services} == set(holders)
    caddyfile = REPO / "compose" / config["configs"]["caddyfile"]["file"]
    text = caddyfile.read_text(encoding="utf-8")
    for name in ("SITE_ADDRESS", "CADDY_TLS", "UPSTREAM"):
        assert "{$" + name in text and name in proxy


def test_every_backend_needs_its_secret(env):
    """No key, no stack: compose refuses to start without each service's key or password."""
    for name in ("VLLM_API_KEY", "POSTGRES_PASSWORD", "SCHOLARGRAPH_API_KEY", "SITE_ADDRESS"):
        with pytest.raises(ValueError, match=name):
            load_compose({k: v for k, v in env.items() if k != name})


def test_gpu_profile_runs_vllm_embeddings_with_pooling_and_matryoshka(config, env):
    services = enabled(config, ("gpu",))
    embed = services["vllm-embed"]
    command = command_list(embed)
    assert command[0] == env["EMBED_MODEL"] == "Qwen/Qwen3-Embedding-4B"
    assert flag_value(command, "--runner") == "pooling"
    assert json.loads(flag_value(command, "--hf-overrides")) == {"is_matryoshka": True}
    assert flag_value(command, "--served-model-name") == env["EMBED_MODEL"]
    assert gpu_devices(embed) and gpu_devices(services["vllm-chat"])
    assert command_list(services["vllm-chat"])[0] == env["CHAT_MODEL"]
    assert "--runner" not in command_list(services["vllm-chat"])
    for name in ("vllm-embed", "vllm-chat"):  # vLLM 0.32 serves GET /health outside --api-key auth
        assert "127.0.0.1:8000/health'" in " ".join(services[name]["healthcheck"]["test"])


def test_gpu_profile_wires_scholargraph_to_vllm_chroma_and_postgres(config, env):
    services = enabled(config, ("gpu",))
    sg = env_of(services["scholargraph"])
    assert sg["SCHOLARGRAPH_EMBEDDING__BACKEND"] == "vllm"
    assert sg["SCHOLARGRAPH_EMBEDDING__BASE_URL"] == "http://vllm-embed:8000/v1"
    assert sg["SCHOLARGRAPH_EMBEDDING__MODEL"] == flag_value(command_list(services["vllm-embed"]), "--served-model-name")
    assert sg["SCHOLARGRAPH_EMBEDDING__MAX_INPUT_TOKENS"] == flag_value(command_list(services["vllm-embed"]), "--max-model-len")
    assert 0 < int(sg["SCHOLARGRAPH_EMBEDDING__DIMENSIONS"]) <= 2560  # Qwen3-Embedding-4B's full size
    assert sg["SCHOLARGRAPH_STORE__CHROMA_HOST"] == "chroma"
    assert sg["SCHOLARGRAPH_GRAPH__DATABASE_URL"].startswith("postgresql+psycopg://scholargraph:")
    assert sg["SCHOLARGRAPH_GRAPH__DATABASE_URL"].endswith("@postgres:5432/scholargraph")
    assert sg["SCHOLARGRAPH_SERVICE__API_KEY"] == env["SCHOLARGRAPH_API_KEY"]
    assert command_list(services["scholargraph"]) == ["scholargraph", "serve"]
    assert services["scholargraph"]["build"]["dockerfile"] == "compose/Dockerfile"
    assert set(depends(services["scholargraph"])) == {"postgres", "chroma", "vllm-embed"}


def test_gpu_profile_wires_open_webui(config, env):
    services = enabled(config, ("gpu",))
    owui = env_of(services["open-webui"])
    sg = env_of(services["scholargraph"])
    assert owui["RAG_EMBEDDING_ENGINE"] == "openai"
    assert owui["RAG_OPENAI_API_BASE_URL"] == "http://vllm-embed:8000/v1"
    assert owui["RAG_EMBEDDING_MODEL"] == sg["SCHOLARGRAPH_EMBEDDING__MODEL"]
    # Open WebUI prepends the prefix to each query: it must produce ScholarGraph's own Qwen3 query.
    question = "Which datasets were used?"
    assert owui["RAG_EMBEDDING_QUERY_PREFIX"] + question == format_query(question, "retrieve", "qwen3")
    assert owui["CONTENT_EXTRACTION_ENGINE"] == "external"
    assert owui["EXTERNAL_DOCUMENT_LOADER_URL"] == "http://scholargraph:8765"
    # Open WebUI skips the external loader when its key is empty.
    assert owui["EXTERNAL_DOCUMENT_LOADER_API_KEY"] == sg["SCHOLARGRAPH_SERVICE__API_KEY"] != ""
    assert (owui["VECTOR_DB"], owui["CHROMA_HTTP_HOST"], owui["CHROMA_HTTP_PORT"]) == ("chroma", "chroma", "8000")
    assert owui["OPENAI_API_BASE_URL"] == "http://vllm-chat:8000/v1"
    assert owui["DATABASE_URL"].endswith("@postgres:5432/openwebui")
    assert services["open-webui"]["build"]["target"] == "openwebui"
    assert "open-webui:v0.12.4" in DOCKERFILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("profile", ["gpu", "cpu"])
def test_the_loader_and_open_webui_share_the_parse_of_each_upload(config, profile):
    """The service parses each upload as Open WebUI's document loader and leaves the parse in
    parsing.cache_dir; Open WebUI's Event function takes it from the same volume (one parse, one OCR)."""
    services = enabled(config, (profile,))
    suffix = "" if profile == "gpu" else "-cpu"
    service, owui = services[f"scholargraph{suffix}"], services[f"open-webui{suffix}"]
    mounts = {}
    for name, svc in (("service", service), ("open-webui", owui)):
        folder = env_of(svc)["SCHOLARGRAPH_PARSING__CACHE_DIR"]
        volume = [v.split(":")[0] for v in svc["volumes"] if v.split(":")[1] == folder]
        assert volume and volume[0] in config["volumes"], f"{name}: nothing mounted at {folder}"
        mounts[name] = volume[0]
    assert mounts["service"] == mounts["open-webui"]
    assert "/parsed" in DOCKERFILE.read_text(encoding="utf-8")  # owned by the service's user in its image
    # the installer keeps the service Open WebUI's document loader, with the service's own key
    installer = env_of(services["functions-installer"])
    assert installer["SCHOLARGRAPH_LOADER_URL"] == env_of(owui)["EXTERNAL_DOCUMENT_LOADER_URL"] == "http://scholargraph:8765"
    assert installer["SCHOLARGRAPH_LOADER_KEY"] == env_of(service)["SCHOLARGRAPH_SERVICE__API_KEY"] != ""
    assert "scholargraph" in aliases(service)


def test_cpu_profile_needs_no_gpu_and_no_vllm(config):
    services = enabled(config, ("cpu",))
    assert not [n for n in services if n.startswith("vllm")]
    assert not [n for n, s in services.items() if gpu_devices(s)]
    sg = env_of(services["scholargraph-cpu"])
    assert sg["SCHOLARGRAPH_EMBEDDING__BACKEND"] == "local"
    assert "SCHOLARGRAPH_EMBEDDING__BASE_URL" not in sg
    for name, svc in services.items():
        assert "vllm-" not in json.dumps(env_of(svc)), f"{name} points at a vLLM the cpu profile lacks"
    assert env_of(services["open-webui-cpu"]).get("RAG_EMBEDDING_ENGINE", "") == ""


def test_pipelines_profile_is_optional(config):
    assert "pipelines" not in enabled(config, ("gpu",))
    pipelines = enabled(config, ("gpu", "pipelines"))["pipelines"]
    assert pipelines["profiles"] == ["pipelines"]
    assert any(str(v).startswith("../pipelines:") for v in pipelines["volumes"])
    # pipelines/*.py import the engine, which the stock Pipelines image lacks
    assert pipelines["build"]["target"] == "pipelines"
    assert "AS pipelines" in DOCKERFILE.read_text(encoding="utf-8")


def test_functions_installer_waits_for_open_webui(config):
    installer = config["services"]["functions-installer"]
    assert installer["restart"] == "no"
    assert command_list(installer)[-1].endswith("install_functions.py")
    deps = depends(installer)
    assert deps["open-webui"]["condition"] == deps["open-webui-cpu"]["condition"] == "service_healthy"
    assert deps["open-webui"]["required"] is False and deps["open-webui-cpu"]["required"] is False


# -- every variable names something real ---------------------------------------------------------
def _setting_exists(key: str) -> bool:
    parts = key.removeprefix("SCHOLARGRAPH_").lower().split("__")
    fields = Settings.model_fields
    for i, part in enumerate(parts):
        if part not in fields:
            return False
        if i < len(parts) - 1:
            fields = fields[part].annotation.model_fields
    return True


@pytest.mark.parametrize("profiles", PROFILE_SETS[:2], ids=["gpu", "cpu"])
def test_every_scholargraph_variable_is_a_setting_and_parses(config, profiles, monkeypatch):
    for name, svc in enabled(config, profiles).items():
        variables = {k: v for k, v in env_of(svc).items() if k.startswith("SCHOLARGRAPH_")}
        # the installer's own options (compose/install_functions.py), not engine settings
        not_settings = {"SCHOLARGRAPH_URL", "SCHOLARGRAPH_API_KEY", "SCHOLARGRAPH_FUNCTION_VALVES",
                        "SCHOLARGRAPH_ASSISTANT_MODEL", "SCHOLARGRAPH_SHARE_MODELS", "SCHOLARGRAPH_LOADER_URL",
                        "SCHOLARGRAPH_LOADER_KEY"}
        unknown = [k for k in variables if not _setting_exists(k) and k not in not_settings]
        assert not unknown, f"{name}: no such setting {unknown}"
        if not any(k.startswith("SCHOLARGRAPH_EMBEDDING__") for k in variables):
            continue
        for key in list(os.environ):
            if key.startswith("SCHOLARGRAPH_"):
                monkeypatch.delenv(key)
        for key, value in variables.items():
            monkeypatch.setenv(key, value)
        settings = Settings()  # raises if a value does not parse (e.g. an empty int)
        assert settings.store.chroma_host == "chroma"
        assert settings.graph_url.startswith("postgresql+psycopg://")


def test_open_webui_variables_exist_in_open_webui_0_12(config):
    for name in ("open-webui", "open-webui-cpu"):
        used = {k for k in env_of(config["services"][name]) if not k.startswith("SCHOLARGRAPH_")}
        assert used - TELEMETRY_ENV <= OPEN_WEBUI_0_12_ENV, used - TELEMETRY_ENV - OPEN_WEBUI_0_12_ENV


def test_healthcheck_and_loader_hit_routes_the_service_has(config, tmp_path):
    """The compose healthcheck path and Open WebUI's PUT /process exist in scholargraph.faces.service."""
    from scholargraph.faces.service import create_app

    app = create_app(Settings(data_dir=tmp_path / "data"))
    routes = {(method, route.path) for route in app.routes for method in (getattr(route, "methods", None) or ())}
    for name in ("scholargraph", "scholargraph-cpu"):
        probe = " ".join(config["services"][name]["healthcheck"]["test"])
        path = re.search(r"http://127\.0\.0\.1:8765(/[a-z]+)", probe).group(1)
        assert ("GET", path) in routes, f"{name} healthcheck asks for {path}; routes: {sorted(routes)}"
    assert ("PUT", "/process") in routes
    assert "/healthz'" in DOCKERFILE.read_text(encoding="utf-8")


def test_dockerfile_installs_the_repo_without_torch():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert 'pip install ".[postgres]"' in text
    assert "find_spec('torch')" in text  # the build fails if torch was pulled in
    assert re.search(r"--no-deps\s+\"unstructured-inference==", text)
    assert "FROM ${OPEN_WEBUI_IMAGE} AS openwebui" in text


# -- the functions installer ---------------------------------------------------------------------
def _load_installer():
    spec = importlib.util.spec_from_file_location("install_functions", REPO / "compose" / "install_functions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["install_functions"] = module
    spec.loader.exec_module(module)
    return module


class FakeOpenWebUI:
    """The part of Open WebUI 0.12's API the installer uses, in memory."""

    def __init__(self) -> None:
        self.functions: dict[str, dict] = {}
        self.calls: list[str] = []
        self.valves: dict[str, dict] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.calls.append(f"{method} {path}")
        if path == "/health":
            return httpx.Response(200, json={"status": True})
        if path == "/api/v1/auths/signin":
            body = json.loads(request.content)
            if body == {"email": "admin@example.org", "password": "pw"}:
                return httpx.Response(200, json={"token": "t0k", "role": "admin", "token_type": "Bearer"})
            return httpx.Response(400, json={"detail": "The email or password provided is incorrect."})
        if path == "/api/v1/auths/signup":
            return httpx.Response(403, json={"detail": "You do not have permission to access this resource."})
        assert request.headers.get("Authorization") == "Bearer t0k"
        if path == "/api/v1/functions/create":
            body = json.loads(request.content)
            kind = "filter" if "class Filter" in body["content"] else "pipe"
            self.functions[body["id"]] = {**body, "type": kind, "is_active": False, "is_global": False}
            return httpx.Response(200, json=self.functions[body["id"]])
        match = re.fullmatch(r"/api/v1/functions/id/(\w+)(/.*)?", path)
        assert match, path
        fid, rest = match.group(1), match.group(2) or ""
        if fid not in self.functions:
            return httpx.Response(401, json={"detail": "We could not find what you're looking for :/"})
        fn = self.functions[fid]
        if rest == "":
            return httpx.Response(200, json=fn)
        if rest == "/update":
            fn.update({k: v for k, v in json.loads(request.content).items() if k != "id"})
        elif rest == "/toggle":
            fn["is_active"] = not fn["is_active"]
        elif rest == "/toggle/global":
            fn["is_global"] = not fn["is_global"]
        elif rest == "/valves/spec":
            return httpx.Response(200, json={"properties": {"service_url": {}, "top_k": {}}})
        elif rest == "/valves":
            return httpx.Response(200, json=self.valves.get(fid, {}))
        elif rest == "/valves/update":
            self.valves[fid] = json.loads(request.content)
            return httpx.Response(200, json=self.valves[fid])
        return httpx.Response(200, json=fn)


FILTER_SOURCE = '"""\ntitle: ScholarGraph Context\nauthor: ScholarGraph\ndescription: graph-aware context\n"""\nclass Filter:\n    pass\n'
PIPE_SOURCE = '"""\ntitle: ScholarGraph Assistant\n"""\nclass Pipe:\n    pass\n'


def test_installer_creates_activates_and_is_idempotent(tmp_path, capsys):
    installer = _load_installer()
    folder = tmp_path / "openwebui"
    folder.mkdir()
    (folder / "scholargraph_filter.py").write_text(FILTER_SOURCE)
    (folder / "scholargraph-assistant.py").write_text(PIPE_SOURCE)
    (folder / "__init__.py").write_text("")
    fake = FakeOpenWebUI()
    env = {
        "OPEN_WEBUI_URL": "http://owui.test", "WEBUI_ADMIN_EMAIL": "admin@example.org",
        "WEBUI_ADMIN_PASSWORD": "pw", "FUNCTIONS_DIR": str(folder), "INSTALL_WAIT_S": "5",
        "SCHOLARGRAPH_FUNCTION_VALVES": json.dumps({"*": {"service_url": "http://scholargraph:8765", "unknown": 1}}),
    }
    transport = httpx.MockTransport(fake)

    assert installer.main(env, transport) == 0
    assert set(fake.functions) == {"scholargraph_filter", "scholargraph_assistant"}
    flt, pipe = fake.functions["scholargraph_filter"], fake.functions["scholargraph_assistant"]
    assert flt["name"] == "ScholarGraph Context" and flt["meta"]["description"] == "graph-aware context"
    assert pipe["name"] == "ScholarGraph Assistant"
    assert flt["is_active"] and flt["is_global"]
    assert pipe["is_active"] and not pipe["is_global"]  # "global" means nothing for a pipe
    assert fake.valves["scholargraph_filter"] == {"service_url": "http://scholargraph:8765"}

    fake.calls.clear()
    assert installer.main(env, transport) == 0  # second run: nothing to change
    assert not [c for c in fake.calls if c.endswith(("/create", "/update", "/toggle", "/toggle/global"))]
    assert "unchanged" in capsys.readouterr().out

    (folder / "scholargraph_filter.py").write_text(FILTER_SOURCE + "# v2\n")
    fake.calls.clear()
    assert installer.main(env, transport) == 0
    assert "POST /api/v1/functions/id/scholargraph_filter/update" in fake.calls
    assert fake.functions["scholargraph_filter"]["content"].endswith("# v2\n")
    assert fake.functions["scholargraph_filter"]["is_active"]


def test_installer_names_a_bad_login(tmp_path, capsys):
    installer = _load_installer()
    (tmp_path / "f.py").write_text(PIPE_SOURCE)
    env = {"OPEN_WEBUI_URL": "http://owui.test", "WEBUI_ADMIN_EMAIL": "admin@example.org",
           "WEBUI_ADMIN_PASSWORD": "wrong", "FUNCTIONS_DIR": str(tmp_path), "INSTALL_WAIT_S": "5"}
    assert installer.main(env, httpx.MockTransport(FakeOpenWebUI())) == 1
    assert "cannot sign in as admin@example.org" in capsys.readouterr().err


def test_installer_reads_open_webui_frontmatter():
    installer = _load_installer()
    assert installer.frontmatter(FILTER_SOURCE) == {
        "title": "ScholarGraph Context", "author": "ScholarGraph", "description": "graph-aware context",
    }
    assert installer.frontmatter("import os\n") == {}
    assert installer.function_id(Path("2-sg filter.py")) == "f_2_sg_filter"
