"""Settings groups of the faces' own: the HTTP service and the Zotero API import. Part of the one settings
model (``scholargraph.settings``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from scholargraph.setting_keys import SettingsGroup


class ServiceSettings(SettingsGroup):
    """The HTTP service."""

    host: str = Field("127.0.0.1", description="Bind address of `scholargraph serve`.")
    port: int = Field(8765, description="Port of `scholargraph serve`.")
    api_key: str = Field(
        "", description="Key clients must send as 'Authorization: Bearer <key>' (never in the URL); empty = no "
        "auth, which `serve` allows on a loopback address only (see insecure_no_auth).",
    )
    insecure_no_auth: bool = Field(
        False, description="Let `serve` bind a non-loopback address with no api_key (only behind a proxy that "
        "authenticates; anyone who reaches the service can read and change the library).",
    )
    max_upload_files: int = Field(100, ge=1, description="Most files one POST /ingest request may carry.")
    pipeline_knowledge_ids: str = Field(
        "", description="Default of the Pipelines filter's knowledge_ids valve: comma-separated knowledge base ids "
        "whose papers every user of the filtered models may read; '*' = any attached one (the Pipelines server "
        "cannot ask Open WebUI who may read what).",
    )


class ZoteroSettings(SettingsGroup):
    """Zotero API import (`scholargraph import --zotero-api local|web`)."""

    api: Literal["local", "web"] = Field(
        "local", description="Which Zotero API: 'local' is the running Zotero 7 desktop app (Settings → Advanced → "
        "'Allow other applications on this computer to communicate with Zotero'), 'web' is api.zotero.org.")
    local_url: str = Field("http://127.0.0.1:23119/api", description="Base URL of Zotero 7's local API.")
    web_url: str = Field("https://api.zotero.org", description="Base URL of the Zotero Web API.")
    library: str = Field(
        "", description="The library: 'users/<userID>' or 'groups/<groupID>' (zotero.org → Settings → Security shows "
        "your userID); empty = 'users/0' (local API: the desktop app's own library).")
    api_key: str = Field(
        "", description="Zotero Web API key (zotero.org → Settings → Security → Create new private key; read access "
        "to the library and its files). Env SCHOLARGRAPH_ZOTERO__API_KEY; never printed.")
    timeout_s: float = Field(60.0, gt=0, description="Seconds one Zotero API request (or file download) may take.")
    max_retries: int = Field(5, ge=0, description="Retries of a Zotero API request answered 429 or 5xx, or dropped.")
    backoff_s: float = Field(
        1.0, ge=0, description="First retry delay when the server names none; doubles each retry. A server's "
        "Retry-After or Backoff header is honoured instead.")
