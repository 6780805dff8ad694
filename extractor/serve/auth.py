"""The token rule: with `--token`, every /v1 call needs `Authorization: Bearer <token>`."""

from __future__ import annotations

import secrets

from fastapi import Request

from extractor.serve.errors import ApiError

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def require_token(request: Request) -> None:
    token = request.app.state.settings.token
    if not token:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(),
                                                                token.encode()):
        raise ApiError(401, "unauthorized", "missing or wrong token: send 'Authorization: "
                       "Bearer <token>' (the token the server was started with)", CHALLENGE)
