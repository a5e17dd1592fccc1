"""Open WebUI's records and access check (``open_webui`` imported lazily, so the rest of the
bridge runs and is testable without it). Whether a user may read a knowledge base or a file is
decided by Open WebUI's own check (``filter_accessible_collections``, the one its built-in RAG
applies), never by rules of our own."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scholargraph.faces.openwebui.runtime import log, run_blocking


async def user_model(user: dict[str, Any]) -> Any:
    """Open WebUI's own record of the user (role and groups as the database has them now)."""
    from open_webui.models.users import Users

    found = await Users.get_user_by_id(user["id"])
    if found is None:
        raise PermissionError(f"unknown Open WebUI user {user.get('id')}")
    return found


async def readable(user: dict[str, Any], knowledge_ids: Iterable[str], file_ids: Iterable[str]) -> tuple[set[str], set[str]]:
    """The knowledge bases and files this user may read, by Open WebUI's own access check."""
    from open_webui.retrieval.utils import filter_accessible_collections

    kbs, files = set(knowledge_ids), set(file_ids)
    if not kbs and not files:
        return set(), set()
    owner = await user_model(user)
    names = kbs | {f"file-{f}" for f in files}
    allowed = await filter_accessible_collections(names, owner, "read")
    return {k for k in kbs if k in allowed}, {f for f in files if f"file-{f}" in allowed}


async def knowledge_base(knowledge_id: str) -> Any:
    from open_webui.models.knowledge import Knowledges

    return await Knowledges.get_knowledge_by_id(knowledge_id)


def is_external(kb: Any) -> bool:
    """Open WebUI's external knowledge bases (``meta.source == "external"``, answered by a retriever
    outside Open WebUI) stay with Open WebUI: ScholarGraph neither indexes nor searches them."""
    return (getattr(kb, "meta", None) or {}).get("source") == "external"


async def own_knowledge_base(knowledge_id: str) -> Any:
    """The knowledge base when it exists and ScholarGraph keeps it (not external), else None."""
    kb = await knowledge_base(knowledge_id)
    return None if kb is None or is_external(kb) else kb


async def knowledge_files(knowledge_id: str) -> list[Any]:
    from open_webui.models.knowledge import Knowledges

    return list(await Knowledges.get_files_by_id(knowledge_id) or [])


async def openwebui_file(file_id: str) -> tuple[Any, str | None]:
    """(Open WebUI FileModel or None, a local path to its bytes or None)."""
    from open_webui.models.files import Files

    record = await Files.get_file_by_id(file_id)
    if record is None or not record.path:
        return record, None
    try:
        from open_webui.storage.provider import Storage

        local = await run_blocking(Storage.get_file, record.path)
    except Exception:
        log.warning("cannot fetch file %s from Open WebUI storage", file_id, exc_info=True)
        return record, None
    return record, local if local and Path(local).is_file() else None


def file_name(record: Any) -> str:
    meta = getattr(record, "meta", None) or {}
    return meta.get("name") or getattr(record, "filename", "") or ""


async def mark_file(file_id: str, **state: Any) -> None:
    """Record ScholarGraph's indexing state in the file's metadata (``meta.scholargraph``)."""
    try:
        from open_webui.models.files import Files

        await Files.update_file_metadata_by_id(file_id, {"scholargraph": state})
    except Exception:
        log.debug("cannot record state on file %s", file_id, exc_info=True)


def file_state(record: Any) -> dict[str, Any]:
    return ((getattr(record, "meta", None) or {}).get("scholargraph") or {}) if record is not None else {}


def base_url(request: Any) -> str:
    """Open WebUI's public base URL as the browser reached it (for links in citations)."""
    try:
        return str(request.base_url).rstrip("/")
    except Exception:
        return ""
