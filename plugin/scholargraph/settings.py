"""The single source of every knob.

Environment variables (``SCHOLARGRAPH_*``, nested groups with ``__``, e.g.
``SCHOLARGRAPH_EMBEDDING__BACKEND=vllm``), CLI flags and Open WebUI Valves all map onto
this model. Each field's ``description`` is what a user reads in ``--help`` and in the
Valves panel, so it says what the knob does and when to change it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from scholargraph import setting_keys
from scholargraph.face_settings import ServiceSettings, ZoteroSettings
from scholargraph.ingest_settings import ChunkingSettings, EmbeddingSettings, ParsingSettings, StoreSettings
from scholargraph.query_settings import GraphSettings, LLMSettings, RetrievalSettings
from scholargraph.setting_keys import INHERIT, check_environment, check_keys, unknown_key

__all__ = [  # the groups live by stage in ingest_settings, query_settings and face_settings
    "INHERIT", "ChunkingSettings", "EmbeddingSettings", "GraphSettings", "LLMSettings", "ParsingSettings",
    "RetrievalSettings", "ServiceSettings", "Settings", "StoreSettings", "ZoteroSettings", "default_data_dir",
    "form_value",
]


def default_data_dir() -> Path:
    """Per-user data folder (XDG on Linux, ~/Library on macOS, %LOCALAPPDATA% on Windows)."""
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "scholargraph"


class Settings(BaseSettings):
    """Everything ScholarGraph can be told."""

    model_config = SettingsConfigDict(
        env_prefix="SCHOLARGRAPH_", env_nested_delimiter="__", env_ignore_empty=True, extra="forbid"
    )

    data_dir: Path = Field(default_factory=default_data_dir, description="Where embedded Chroma and SQLite live.")
    parsing: ParsingSettings = Field(default_factory=ParsingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    zotero: ZoteroSettings = Field(default_factory=ZoteroSettings)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _CheckedEnvironment(settings_cls), dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        """A misspelt keyword or --set key is an error naming the closest setting (ConfigError, not wrapped)."""
        if isinstance(data, dict):
            check_keys(data, cls)
        return data

    @model_validator(mode="after")
    def _parse_cache_under_data_dir(self) -> "Settings":
        """An empty ``parsing.cache_dir`` follows ``data_dir`` (also when an override moves it)."""
        self.parsing._default_cache = self.data_dir / "parsed"
        return self

    @property
    def graph_url(self) -> str:
        """The graph database URL, defaulting to SQLite in the data dir."""
        return self.graph.database_url or f"sqlite:///{self.data_dir / 'graph.sqlite'}"

    def with_overrides(self, overrides: dict[str, Any]) -> "Settings":
        """A copy with dotted keys replaced, e.g. {"retrieval.hops": 2}; how CLI flags and Valves land."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            if value is INHERIT:
                continue
            node = data
            *parents, leaf = dotted.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise unknown_key(dotted, Settings)
                node = node[part]
            if leaf not in node:
                raise unknown_key(dotted, Settings)
            node[leaf] = value
        return Settings.model_validate(data)


class _CheckedEnvironment(EnvSettingsSource):
    """The environment source, refusing a ``SCHOLARGRAPH_*`` variable that names no setting (pydantic-settings
    reads only the names it knows, so a misspelt one would silently leave its setting at the default)."""

    def __call__(self) -> dict[str, Any]:
        check_environment(self.env_vars, self.settings_cls)
        return super().__call__()


def form_value(dotted: str, value: Any) -> Any:
    """A form's value (Open WebUI Valves cannot hold None) as an override: blank, or 0 where the setting cannot
    be 0, is INHERIT (the one "keep the environment's" value); see setting_keys.form_value."""
    return setting_keys.form_value(Settings, dotted, value)
