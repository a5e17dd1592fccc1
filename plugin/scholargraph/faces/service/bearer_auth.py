"""The service's API-key check: a bearer key in the ``Authorization`` header, nowhere else."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request


class BearerAuth:
    """Bearer-key check on the ``Authorization`` header (what Open WebUI's external document
    loader sends); an empty key leaves the service open, which ``serve`` allows on loopback only.

    A key in the query string is never looked at: URLs end up in access logs and proxies."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, request: Request) -> None:
        if not self.key:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""
        if not given or not hmac.compare_digest(given.encode(), self.key.encode()):
            raise HTTPException(401, "missing or wrong API key: send 'Authorization: Bearer <key>' "
                                     "(the key is SCHOLARGRAPH_SERVICE__API_KEY on the server)",
                                headers={"WWW-Authenticate": "Bearer"})
