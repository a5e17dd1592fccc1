"""Every name a setting answers to, and the check that a name given is one of them.

A setting has a dotted key (``retrieval.hybrid``: ``--set``, Valves, constructor keys) and an
environment variable (``SCHOLARGRAPH_RETRIEVAL__HYBRID``). pydantic-settings reads only the
variables it knows, so a misspelt one would be dropped without a word and the setting silently
keep its default; here every ``SCHOLARGRAPH_*`` variable and every key must name a setting, and
the error names the closest one.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from scholargraph.errors import ConfigError

ENV_PREFIX = "SCHOLARGRAPH_"
ENV_DELIMITER = "__"

# SCHOLARGRAPH_* variables that belong to tools around the engine, not to the settings: the Open WebUI
# functions installer and compose's .env (compose/install_functions.py), the system-package installer,
# the test suite and the benchmarks' helpers. Settings ignores exactly these.
TOOL_VARIABLES = frozenset({
    "SCHOLARGRAPH_URL", "SCHOLARGRAPH_API_KEY", "SCHOLARGRAPH_FUNCTION_VALVES", "SCHOLARGRAPH_ASSISTANT_MODEL",
    "SCHOLARGRAPH_SHARE_MODELS", "SCHOLARGRAPH_LOADER_URL", "SCHOLARGRAPH_LOADER_KEY", "SCHOLARGRAPH_IMAGE",
    "SCHOLARGRAPH_PIPELINE_KNOWLEDGE_IDS", "SCHOLARGRAPH_NO_OCR", "SCHOLARGRAPH_SHARED_DATA",
    "SCHOLARGRAPH_TEST_POSTGRES_URL", "SCHOLARGRAPH_PG_BIN", "SCHOLARGRAPH_VLLM_VENV", "SCHOLARGRAPH_E2E_SHOTS",
    "SCHOLARGRAPH_E2E_KEEP",
})


def group_model(info: FieldInfo) -> type[BaseModel] | None:
    """The settings group a field holds (``retrieval`` -> RetrievalSettings), None for a plain value."""
    annotation = info.annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _is_mapping(info: FieldInfo) -> bool:
    """A dict field (``retrieval.edge_weights``) takes keys of its own below its name."""
    return typing.get_origin(info.annotation) is dict or info.annotation is dict


def dotted_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every setting's dotted key, groups walked: ``data_dir``, ``parsing.pdf_strategy``, ..."""
    keys: list[str] = []
    for name, info in model.model_fields.items():
        group = group_model(info)
        keys.extend(dotted_keys(group, f"{prefix}{name}.") if group else [prefix + name])
    return keys


def field_info(model: type[BaseModel], dotted: str) -> FieldInfo:
    """The field behind a dotted key; a ConfigError naming the closest key when there is none."""
    *parents, leaf = dotted.split(".")
    node = model
    for part in parents:
        group = group_model(node.model_fields[part]) if part in node.model_fields else None
        if group is None:
            raise unknown_key(dotted, model)
        node = group
    if leaf not in node.model_fields or group_model(node.model_fields[leaf]):
        raise unknown_key(dotted, model)
    return node.model_fields[leaf]


def value_type(info: FieldInfo) -> type:
    """The one Python type a field's values have: ``int | None`` -> int, ``Literal['a', 'b']`` -> str."""
    annotation: Any = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        (annotation,) = {type(v) for v in typing.get_args(annotation)}
    origin = typing.get_origin(annotation)
    return origin if isinstance(origin, type) else annotation


def env_name(dotted: str) -> str:
    return ENV_PREFIX + dotted.upper().replace(".", ENV_DELIMITER)


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, list(candidates), n=1)
    return found[0] if found else None


def unknown_key(dotted: str, model: type[BaseModel]) -> ConfigError:
    near = _closest(dotted, dotted_keys(model))
    return ConfigError(f"unknown setting {dotted!r}; " + (f"did you mean {near}?" if near else
                                                         "a key is group.field, e.g. retrieval.top_k"))


def check_keys(data: Mapping[str, Any], model: type[BaseModel], prefix: str = "",
               root: type[BaseModel] | None = None) -> None:
    """Every key of ``data`` (constructor keywords, a validated dict; groups as nested dicts) names a setting."""
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            raise unknown_key(prefix + key, root or model)  # the hint is a full dotted key
        group = group_model(info)
        if group is not None and isinstance(value, Mapping):
            check_keys(value, group, f"{prefix}{key}.", root or model)


def check_environment(names: Iterable[str], model: type[BaseModel]) -> None:
    """Every ``SCHOLARGRAPH_*`` variable (any case, as pydantic-settings reads them) names a setting."""
    keys = dotted_keys(model)
    for raw in names:
        name = raw.upper()
        if not name.startswith(ENV_PREFIX) or name in TOOL_VARIABLES:
            continue
        parts = name[len(ENV_PREFIX):].lower().split(ENV_DELIMITER)
        if not _names_setting(parts, model):
            near = _closest(name[len(ENV_PREFIX):], [env_name(k)[len(ENV_PREFIX):] for k in keys])
            hint = f"did you mean {ENV_PREFIX}{near}?" if near else f"a name is {ENV_PREFIX}GROUP__FIELD, e.g. " \
                f"{ENV_PREFIX}RETRIEVAL__TOP_K"
            raise ConfigError(f"{name}: no such setting; {hint}")


def _names_setting(parts: list[str], model: type[BaseModel]) -> bool:
    info = model.model_fields.get(parts[0])
    if info is None:
        return False
    if len(parts) == 1:
        return True  # a whole group as JSON is read too
    group = group_model(info)
    if group is not None:
        return _names_setting(parts[1:], group)
    return _is_mapping(info)  # SCHOLARGRAPH_RETRIEVAL__EDGE_WEIGHTS__CITES=2


INHERIT = None
"""The one value a face gives for "not given here: keep what the environment or the default says"
(``Settings.with_overrides`` skips it): an option left unset, a valve left empty (``form_value``)."""


def _zero_impossible(info: FieldInfo) -> bool:
    """The field's lower bound excludes 0 (``ge=1``, ``gt=0``): a 0 typed into a form cannot mean 0."""
    return any(getattr(m, "ge", 0) > 0 or getattr(m, "gt", -1) >= 0 for m in info.metadata)


def form_value(model: type[BaseModel], dotted: str, value: Any) -> Any:
    """A value from a form that cannot hold None (Open WebUI Valves): blank text, or 0 for a setting that
    cannot be 0 (``embedding.dimensions``, ``store.chroma_port``), is INHERIT; anything else is itself."""
    if value is INHERIT or (isinstance(value, str) and not value.strip()):
        return INHERIT
    if value == 0 and not isinstance(value, bool) and _zero_impossible(field_info(model, dotted)):
        return INHERIT
    return value


class SettingsGroup(BaseModel):
    """A settings group (parsing, retrieval, ...): a key it does not hold is an error, never dropped."""

    model_config = ConfigDict(extra="forbid")
