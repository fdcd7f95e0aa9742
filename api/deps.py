"""Request dependencies: the container (the one composition root) and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from api.container import Container
from guardrails.errors import Forbidden
from guardrails.roles import Principal, Role

ANONYMOUS_ID = "anonymous"


def get_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def anonymous() -> Principal:
    return Principal(account_id=ANONYMOUS_ID, role=Role.CITIZEN)


def get_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer token: `Authorization: Bearer qs_...`")] = None,
) -> Principal:
    """The caller. No token: an anonymous citizen without a profile. A token that does not authenticate: 401."""
    token = bearer_token(authorization)
    if token is None:
        return anonymous()
    principal = get_container(request).guardrails.accounts.authenticate(token)
    if principal is None:
        from fastapi import HTTPException

        raise HTTPException(401, "the bearer token is unknown or revoked; log in again or ask an admin for a token",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def get_lenient_principal(
    request: Request,
    authorization: Annotated[str | None, Header(description="Any API key; a QingSong token links the account")] = None,
) -> Principal:
    """For OpenAI-compatible clients, which always send some key: a key that is not a QingSong token is anonymous."""
    token = bearer_token(authorization)
    found = get_container(request).guardrails.accounts.authenticate(token) if token else None
    return found if found is not None else anonymous()


def get_staff(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """An authenticated caller (anonymous callers are refused with 401 before any role check)."""
    if principal.account_id == ANONYMOUS_ID:
        from fastapi import HTTPException

        raise HTTPException(401, "log in first: send `Authorization: Bearer <token>`", headers={"WWW-Authenticate": "Bearer"})
    return principal


def forbid(message: str) -> Forbidden:
    return Forbidden(message)


AnyKeyPrincipal = Annotated[Principal, Depends(get_lenient_principal)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
LoggedIn = Annotated[Principal, Depends(get_staff)]
ContainerDep = Annotated[Container, Depends(get_container)]
