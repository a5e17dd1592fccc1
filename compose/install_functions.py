"""Install ScholarGraph's Open WebUI functions into a running Open WebUI, through its API.

The one way to install, by hand or as the compose ``functions-installer`` service, and safe to
run again and again: for each ``plugin/openwebui/*.py`` it creates the function or updates it
when its code changed, then reads its state and switches it on (and, for filters and actions,
global) only where it is not already: it never toggles blindly. Valves can be preset from
``SCHOLARGRAPH_FUNCTION_VALVES`` (JSON: ``{"*": {...}, "<function id>": {...}}``; a key is applied
only where the function's Valves declare it); ``--assistant-model`` presets the Assistant's
``base_model``.

Open WebUI 0.12 runs its model access check on every Action for non-admin users, also for models
that users may chat with only through ``BYPASS_MODEL_ACCESS_CONTROL``: without a Workspace model
record that grants them read access, "Show paper graph" answers "Model not found". So the
installer gives the Assistant's model such a record (read for all users), and with
``--share-models`` other models too (ids, or ``*`` for every model Open WebUI lists that has no
record yet). Models that already have a record are left as the admin set them.

``--loader-url`` (and ``--loader-key``, the service's ``SCHOLARGRAPH_SERVICE__API_KEY``) makes the
ScholarGraph service Open WebUI's External document loader (*Admin Panel → Settings → Documents*):
uploads are parsed by ScholarGraph (sections, pages, OCR of scans, errors that name the file), and
the Event function files that same parse into the knowledge base. The setting is read first and
written only when it differs.

  python compose/install_functions.py --url http://localhost:8080 --api-key sk-... \
      --loader-url http://localhost:8765 --loader-key "$SCHOLARGRAPH_SERVICE__API_KEY"

Environment (each option's default):
  OPEN_WEBUI_URL          --url: base URL of Open WebUI (default http://open-webui:8080)
  OPEN_WEBUI_API_KEY      --api-key: an admin's API key (Settings → Account → API keys; Open WebUI
                          needs ENABLE_API_KEYS) or session token; else the account below
  WEBUI_ADMIN_EMAIL       admin account (Open WebUI creates it on first start from the same vars)
  WEBUI_ADMIN_PASSWORD
  WEBUI_ADMIN_NAME        used only if the account must be signed up here (default Admin)
  FUNCTIONS_DIR           folder of function files (default: plugin/openwebui next to this repo)
  INSTALL_WAIT_S          how long to wait for Open WebUI to answer /health (default 300)
  SCHOLARGRAPH_FUNCTION_VALVES  --valves: optional valve presets, see above
  SCHOLARGRAPH_ASSISTANT_MODEL  --assistant-model: the Open WebUI model that writes the Assistant's answers
  SCHOLARGRAPH_SHARE_MODELS     --share-models: more models to give a read-for-users record ('*' = all unrecorded)
  SCHOLARGRAPH_LOADER_URL       --loader-url: the ScholarGraph service Open WebUI sends uploads to (PUT {URL}/process)
  SCHOLARGRAPH_LOADER_KEY       --loader-key: that service's API key

Exit status: 0 when every function is installed and active, 1 otherwise (each failure printed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "plugin" / "openwebui"
_FRONTMATTER_LINE = re.compile(r"^\s*([a-z_]+):\s*(.*?)\s*$", re.IGNORECASE)
# Open WebUI applies "global" only to these types (filters run on every model, actions show on every message).
GLOBAL_TYPES = {"filter", "action"}
# The Assistant Pipe's model id is "<function id>.<this>" (plugin/scholargraph/faces/openwebui/scopes.py).
ASSISTANT_SUFFIX = "scholargraph-assistant"
PIPE_FUNCTION = "scholargraph_pipe"
READ_FOR_USERS = [{"principal_type": "user", "principal_id": "*", "permission": "read"}]


class InstallError(Exception):
    """A step failed; the message names the function, the endpoint and Open WebUI's answer."""


@dataclass
class FunctionFile:
    id: str
    name: str
    description: str
    content: str
    path: Path


def frontmatter(content: str) -> dict[str, str]:
    """``key: value`` lines of the module docstring that opens the file (Open WebUI's own rule)."""
    lines = content.splitlines()
    if not lines or lines[0].strip() != '"""':
        return {}
    found: dict[str, str] = {}
    for line in lines[1:]:
        if '"""' in line:
            break
        match = _FRONTMATTER_LINE.match(line)
        if match:
            found[match.group(1).strip()] = match.group(2)
    return found


def function_id(path: Path) -> str:
    """Open WebUI ids are lower-case Python identifiers: the file name, other characters as '_'."""
    ident = re.sub(r"\W", "_", path.stem.lower())
    if not ident or ident[0].isdigit():
        ident = f"f_{ident}"
    return ident


def discover(folder: Path) -> list[FunctionFile]:
    """Every function file in the folder (not ``__init__`` or ``_private`` ones), by name."""
    if not folder.is_dir():
        raise InstallError(f"functions folder {folder} does not exist; set FUNCTIONS_DIR")
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        content = path.read_text(encoding="utf-8")
        meta = frontmatter(content)
        fid = function_id(path)
        found.append(
            FunctionFile(
                id=fid,
                name=meta.get("title") or fid,
                description=meta.get("description", ""),
                content=content,
                path=path,
            )
        )
    return found


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return json.dumps(body)[:300]


class Installer:
    """Talks to one Open WebUI as its admin."""

    def __init__(self, client: httpx.Client, log=print) -> None:
        self.client = client
        self.log = log

    # -- session --------------------------------------------------------------------------
    def wait_ready(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                response = self.client.get("/health")
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                last = str(exc) or type(exc).__name__
            time.sleep(2)
        raise InstallError(f"Open WebUI at {self.client.base_url} not ready after {wait_s:g}s ({last})")

    def sign_in(self, email: str, password: str, name: str = "Admin") -> None:
        """Sign in; on a brand-new instance with no admin yet, sign up (the first account is admin)."""
        if not email or not password:
            raise InstallError("set WEBUI_ADMIN_EMAIL and WEBUI_ADMIN_PASSWORD (the same values Open WebUI gets)")
        response = self.client.post("/api/v1/auths/signin", json={"email": email, "password": password})
        if response.status_code != 200:
            signup = self.client.post(
                "/api/v1/auths/signup", json={"name": name, "email": email, "password": password}
            )
            if signup.status_code != 200:
                raise InstallError(
                    f"cannot sign in as {email}: {_detail(response)}; sign-up also refused: {_detail(signup)}"
                )
            response = signup
        body = response.json()
        if "token" not in body:
            raise InstallError(
                f"sign-in as {email} wants another step ({body.get('next_step')!r}, e.g. MFA or approval); "
                "use an admin account that signs in with a password alone"
            )
        if body.get("role") != "admin":
            raise InstallError(f"{email} is not an admin of Open WebUI (role {body.get('role')!r})")
        self.client.headers["Authorization"] = f"Bearer {body['token']}"

    def use_key(self, key: str) -> None:
        """Act with an admin's API key (or session token); refuse a key that is not an admin's."""
        self.client.headers["Authorization"] = f"Bearer {key}"
        response = self.client.get("/api/v1/functions/list")  # admins only; /auths/ wants a browser session
        if response.status_code in (401, 403):
            raise InstallError(f"Open WebUI refused the API key: HTTP {response.status_code} {_detail(response)} "
                               "(it must be an admin's, made under Settings → Account; Open WebUI needs "
                               "ENABLE_API_KEYS=true)")
        if response.status_code != 200:
            raise InstallError(f"GET /api/v1/functions/list: HTTP {response.status_code} {_detail(response)}")

    # -- functions ------------------------------------------------------------------------
    def get(self, fid: str) -> dict | None:
        response = self.client.get(f"/api/v1/functions/id/{fid}")
        if response.status_code == 200 and response.json():
            return response.json()
        if response.status_code in (401, 404):  # Open WebUI answers 401 "not found" for a missing id
            return None
        raise InstallError(f"GET function {fid}: HTTP {response.status_code} {_detail(response)}")

    def _post(self, path: str, payload: dict | None = None) -> dict:
        response = self.client.post(path, json=payload) if payload is not None else self.client.post(path)
        if response.status_code != 200:
            raise InstallError(f"POST {path}: HTTP {response.status_code} {_detail(response)}")
        return response.json()

    def install(self, fn: FunctionFile, valves: dict | None = None) -> str:
        """Create or update one function, then make it active (and global where that applies)."""
        form = {
            "id": fn.id,
            "name": fn.name,
            "content": fn.content,
            "meta": {"description": fn.description, "manifest": {}},
        }
        existing = self.get(fn.id)
        if existing is None:
            self._post("/api/v1/functions/create", form)
            action = "created"
        elif existing.get("content") != fn.content or existing.get("name") != fn.name:
            self._post(f"/api/v1/functions/id/{fn.id}/update", form)
            action = "updated"
        else:
            action = "unchanged"
        current = self.get(fn.id) or {}  # the state as Open WebUI has it now, before any switch
        if not current.get("is_active"):
            current = self._post(f"/api/v1/functions/id/{fn.id}/toggle")
        if current.get("type") in GLOBAL_TYPES and not current.get("is_global"):
            current = self._post(f"/api/v1/functions/id/{fn.id}/toggle/global")
        if valves:
            self.set_valves(fn.id, valves)
        if not current.get("is_active"):
            raise InstallError(f"{fn.id} did not become active")
        if current.get("type") in GLOBAL_TYPES and not current.get("is_global"):
            raise InstallError(f"{fn.id} did not become global")
        return action

    # -- models ---------------------------------------------------------------------------
    def listed_models(self) -> list[dict]:
        """Every model Open WebUI lists to the admin now (connections, Workspace, functions)."""
        response = self.client.get("/api/models")
        if response.status_code != 200:
            raise InstallError(f"GET /api/models: HTTP {response.status_code} {_detail(response)}")
        return list((response.json() or {}).get("data") or [])

    def share_models(self, wanted: list[str]) -> dict[str, str]:
        """Give each wanted model without a Workspace record one that lets every user read it
        ('*' = every listed model without a record); models with a record are left alone."""
        if not wanted:
            return {}
        listed = {m["id"]: m for m in self.listed_models() if m.get("id")}
        response = self.client.get("/api/v1/models/all")
        if response.status_code != 200:
            raise InstallError(f"GET /api/v1/models/all: HTTP {response.status_code} {_detail(response)}")
        recorded = {m["id"] for m in response.json() or []}
        ids = list(listed) if "*" in wanted else []
        ids += [mid for mid in wanted if mid != "*" and mid not in ids]
        done: dict[str, str] = {}
        for mid in ids:
            if mid not in listed:
                done[mid] = "not listed by Open WebUI (check the id and its connection)"
            elif mid in recorded:
                done[mid] = "kept (has a Workspace record; its access is the admin's)"
            else:
                name = listed[mid].get("name") or mid
                self._post("/api/v1/models/model/access/update",
                           {"id": mid, "name": name, "access_grants": READ_FOR_USERS})
                done[mid] = "shared (read for all users)"
        return done

    # -- document loader ------------------------------------------------------------------
    def use_loader(self, url: str, key: str) -> str:
        """Make the ScholarGraph service Open WebUI's External document loader; 'unchanged' when
        it already is (the current setting is read first), else 'set'."""
        response = self.client.get("/api/v1/retrieval/config")
        if response.status_code != 200:
            raise InstallError(f"GET /api/v1/retrieval/config: HTTP {response.status_code} {_detail(response)}")
        current = response.json() or {}
        wanted = {"CONTENT_EXTRACTION_ENGINE": "external", "EXTERNAL_DOCUMENT_LOADER_URL": url.rstrip("/"),
                  "EXTERNAL_DOCUMENT_LOADER_API_KEY": key}
        if all(current.get(k) == v for k, v in wanted.items()):
            return "unchanged"
        updated = self._post("/api/v1/retrieval/config/update", wanted)
        if any(updated.get(k) != v for k, v in wanted.items() if k in updated):
            raise InstallError(f"Open WebUI did not take the document loader setting: {json.dumps(updated)[:300]}")
        return "set"

    def set_valves(self, fid: str, presets: dict) -> None:
        """Apply presets for valves the function declares; leave others as they are."""
        spec = self.client.get(f"/api/v1/functions/id/{fid}/valves/spec")
        if spec.status_code != 200 or not spec.json():
            return
        declared = set((spec.json() or {}).get("properties", {}))
        wanted = {k: v for k, v in presets.items() if k in declared}
        if not wanted:
            return
        current = self.client.get(f"/api/v1/functions/id/{fid}/valves")
        values = dict(current.json() or {}) if current.status_code == 200 else {}
        if all(values.get(k) == v for k, v in wanted.items()):
            return
        values.update(wanted)
        self._post(f"/api/v1/functions/id/{fid}/valves/update", values)


def valve_presets(raw: str, fid: str) -> dict:
    """``{"*": {...}, "<id>": {...}}`` -> the presets for one function (its own win over "*")."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InstallError(f"SCHOLARGRAPH_FUNCTION_VALVES is not JSON: {exc}") from exc
    return {**data.get("*", {}), **data.get(fid, {})}


def parse_args(argv: list[str] | None, env: dict[str, str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Install or update ScholarGraph's functions in Open WebUI.")
    parser.add_argument("--url", default=env.get("OPEN_WEBUI_URL", "http://open-webui:8080"),
                        help="Open WebUI's base URL (env OPEN_WEBUI_URL)")
    parser.add_argument("--api-key", default=env.get("OPEN_WEBUI_API_KEY", ""),
                        help="an admin's API key or token (env OPEN_WEBUI_API_KEY); else WEBUI_ADMIN_EMAIL/PASSWORD")
    parser.add_argument("--functions-dir", default=env.get("FUNCTIONS_DIR") or str(DEFAULT_FUNCTIONS_DIR))
    parser.add_argument("--valves", default=env.get("SCHOLARGRAPH_FUNCTION_VALVES", ""),
                        help='valve presets as JSON: {"*": {...}, "<function id>": {...}}')
    parser.add_argument("--assistant-model", default=env.get("SCHOLARGRAPH_ASSISTANT_MODEL", ""),
                        help="the Open WebUI model id that writes the Assistant's answers (its base_model valve)")
    parser.add_argument("--share-models", default=env.get("SCHOLARGRAPH_SHARE_MODELS", ""),
                        help="comma-separated model ids (or '*') that get a read-for-all-users record, besides "
                        "the Assistant: needed for 'Show paper graph' when users chat through BYPASS_MODEL_ACCESS_CONTROL")
    parser.add_argument("--loader-url", default=env.get("SCHOLARGRAPH_LOADER_URL", ""),
                        help="the ScholarGraph service's URL as Open WebUI reaches it: makes it Open WebUI's External "
                        "document loader (env SCHOLARGRAPH_LOADER_URL)")
    parser.add_argument("--loader-key", default=env.get("SCHOLARGRAPH_LOADER_KEY", ""),
                        help="the service's API key, SCHOLARGRAPH_SERVICE__API_KEY (env SCHOLARGRAPH_LOADER_KEY)")
    parser.add_argument("--wait", type=float, default=float(env.get("INSTALL_WAIT_S", "300")),
                        help="seconds to wait for Open WebUI to answer /health")
    return parser.parse_args(argv if argv is not None else [])


def main(env: dict[str, str] | None = None, transport: httpx.BaseTransport | None = None,
         argv: list[str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    args = parse_args(argv, env)
    base = args.url.rstrip("/")
    folder = Path(args.functions_dir)
    failures = 0
    with httpx.Client(base_url=base, timeout=60.0, transport=transport) as client:
        installer = Installer(client)
        try:
            functions = discover(folder)
            if not functions:
                print(f"no function files in {folder}; nothing to install")
                return 0
            installer.wait_ready(args.wait)
            if args.api_key:
                installer.use_key(args.api_key)
            else:
                installer.sign_in(
                    env.get("WEBUI_ADMIN_EMAIL", ""), env.get("WEBUI_ADMIN_PASSWORD", ""),
                    env.get("WEBUI_ADMIN_NAME", "Admin"),
                )
        except InstallError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        for fn in functions:
            try:
                presets = valve_presets(args.valves, fn.id)
                if fn.id == PIPE_FUNCTION and args.assistant_model:
                    presets["base_model"] = args.assistant_model
                action = installer.install(fn, presets)
                print(f"{fn.id}: {action}, active ({fn.name})")
            except (InstallError, httpx.HTTPError) as exc:
                failures += 1
                print(f"error: {fn.path.name}: {exc}", file=sys.stderr)
        wanted = [m.strip() for m in args.share_models.split(",") if m.strip()]
        if any(fn.id == PIPE_FUNCTION for fn in functions):
            wanted.insert(0, f"{PIPE_FUNCTION}.{ASSISTANT_SUFFIX}")
        try:
            for mid, outcome in installer.share_models(wanted).items():
                print(f"model {mid}: {outcome}")
        except (InstallError, httpx.HTTPError) as exc:
            failures += 1
            print(f"error: sharing models: {exc}", file=sys.stderr)
        if args.loader_url:
            try:
                outcome = installer.use_loader(args.loader_url, args.loader_key)
                print(f"document loader {args.loader_url.rstrip('/')}: {outcome}")
            except (InstallError, httpx.HTTPError) as exc:
                failures += 1
                print(f"error: document loader: {exc}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(argv=sys.argv[1:]))
