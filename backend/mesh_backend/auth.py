"""JWT on `/api/v1/*`: HS256 with the secret Kong's jwt consumer holds, checked again here so the
API is not open to anyone who reaches its port without passing through the gateway."""

from __future__ import annotations

from typing import Any

import jwt
from fastapi import HTTPException, Request, status

ALGORITHMS = ["HS256"]


def _reject(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def verify_bearer(authorization: str | None, secret: str, key: str | None) -> dict[str, Any]:
    """The token's claims, or a 401 naming what is wrong (missing, malformed, bad signature, expired, wrong issuer)."""
    if not authorization:
        raise _reject("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _reject("Authorization is not a bearer token")
    try:
        claims: dict[str, Any] = jwt.decode(token.strip(), secret, algorithms=ALGORITHMS, options={"verify_aud": False})
    except jwt.ExpiredSignatureError:
        raise _reject("token expired") from None
    except jwt.InvalidTokenError as error:
        raise _reject(f"invalid token: {error}") from None
    if key is not None and claims.get("iss") != key:
        raise _reject("token issuer is not the gateway consumer's key")
    return claims


def require_jwt(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return verify_bearer(request.headers.get("Authorization"), settings.jwt_secret, settings.jwt_key)
