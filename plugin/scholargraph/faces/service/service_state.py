"""What every route of the service shares: settings, the one library, the write lock, the key
check and where uploads go. The routes get it passed in; nothing here is global."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Request

from scholargraph.faces.service.bearer_auth import BearerAuth
from scholargraph.faces.uploads import INCOMING, UploadTooLarge
from scholargraph.library import Library
from scholargraph.settings import Settings


class ServiceState:
    """One app's shared state. The library opens on first use (``library()``), so the service
    answers ``/healthz`` at once; ingest and delete hold ``write_lock`` (reads run freely)."""

    def __init__(self, settings: Settings, library: Library | None = None) -> None:
        self.settings = settings
        self._library = library
        self._make_lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.keyed = bool(settings.service.api_key)
        self.auth: Any = Depends(BearerAuth(settings.service.api_key))  # a route's `dependencies=[...]`
        self.uploads = Path(settings.data_dir) / "uploads"
        self.incoming = self.uploads / INCOMING  # partial uploads; stale ones are cleared at start
        self.limit_bytes = settings.parsing.max_file_mb * 2**20

    def library(self) -> Library:
        """The app's library, opened once by whichever request (or start-up job) asks first."""
        if self._library is None:
            with self._make_lock:
                if self._library is None:
                    self._library = Library(self.settings)
        return self._library

    def opened(self) -> Library | None:
        """The library if it was opened (what shutting down closes), else None."""
        return self._library

    def too_large(self, name: str) -> HTTPException:
        return HTTPException(413, str(UploadTooLarge(name, self.settings.parsing.max_file_mb)))

    def declared_too_large(self, request: Request, name: str) -> None:
        """Refuse at once a body whose declared length is over the limit (nothing read)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit_bytes:
            raise self.too_large(name)
