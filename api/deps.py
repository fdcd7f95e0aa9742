"""Request dependencies: the container (the one composition root) and the calling principal."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from api.container import Container
from guardrails.errors import Forbidden
from guardrails.roles import Principal, Role

ANONYMOUS_ID = "anonymous"
VISITOR_COOKIE = "qs_visitor"  # server-issued, HttpOnly: the anonymous browser that holds its chat sessions
VISITOR_DAYS = 30


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


@dataclass(frozen=True)
class Caller:
    """Who acts on chat sessions: a logged-in account, or an anonymous browser known by its visitor cookie."""

    principal: Principal  # as authenticated; account_id 'anonymous' without a token
    visitor: str | None  # `visitor:<hash of the cookie>`; None for a token client that sent no cookie

    @property
    def anonymous(self) -> bool:
        return self.principal.account_id == ANONYMOUS_ID

    @property
    def acting(self) -> Principal:
        """The principal session rules are checked against: the anonymous caller acts as its visitor identity."""
        if self.anonymous and self.visitor:
            return self.principal.model_copy(update={"account_id": self.visitor})
        return self.principal


def visitor_key(cookie: str) -> str:
    """The cookie's stand-in in the database: a hash, so a copy of the database cannot be replayed as a cookie."""
    return "visitor:" + hashlib.sha256(cookie.encode()).hexdigest()[:40]


def _cookie_ok(value: str | None) -> bool:
    return bool(value) and 32 <= len(value or "") <= 64 and all(c.isalnum() or c in "-_" for c in value or "")


def issue_visitor(request: Request, response: Response, anonymous: bool) -> str | None:
    """The caller's visitor identity. An anonymous caller without a valid cookie is issued a new random one
    (HttpOnly, SameSite=Lax, Secure in production); a logged-in caller's cookie is read (to claim an anonymous
    session of the same browser) but never issued."""
    cookie = request.cookies.get(VISITOR_COOKIE)
    if _cookie_ok(cookie):
        return visitor_key(str(cookie))
    if not anonymous:
        return None
    cookie = secrets.token_urlsafe(32)
    production = get_container(request).settings.environment == "production"
    response.set_cookie(VISITOR_COOKIE, cookie, max_age=VISITOR_DAYS * 86400, httponly=True, samesite="lax",
                        secure=production, path="/")
    return visitor_key(cookie)


def get_caller(request: Request, response: Response,
               principal: Annotated[Principal, Depends(get_principal)]) -> Caller:
    return Caller(principal, issue_visitor(request, response, principal.account_id == ANONYMOUS_ID))


def get_lenient_caller(request: Request, response: Response,
                       principal: Annotated[Principal, Depends(get_lenient_principal)]) -> Caller:
    return Caller(principal, issue_visitor(request, response, principal.account_id == ANONYMOUS_ID))


def forbid(message: str) -> Forbidden:
    return Forbidden(message)


SessionCaller = Annotated[Caller, Depends(get_caller)]
AnyKeyCaller = Annotated[Caller, Depends(get_lenient_caller)]
AnyKeyPrincipal = Annotated[Principal, Depends(get_lenient_principal)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
LoggedIn = Annotated[Principal, Depends(get_staff)]
ContainerDep = Annotated[Container, Depends(get_container)]
