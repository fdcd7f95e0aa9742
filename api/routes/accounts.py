"""Accounts (admins manage, auditors read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ContainerDep, LoggedIn
from api.schemas import AccountIn, AccountPublic, NewAccountPublic, Page, page
from guardrails.accounts import Account
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


def account_public(a: Account) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "role": a.role.value, "units": list(a.units), "profile_id": a.profile_id,
            "token_hint": a.token_hint, "active": a.active}


@router.get("", response_model=Page[AccountPublic], summary="List accounts")
def list_accounts(principal: LoggedIn, container: ContainerDep,
                  limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
                  offset: Annotated[int, Query(ge=0, le=100000, description="Results to skip")] = 0) -> dict[str, Any]:
    require(principal, Action.USERS_READ, Resource(kind="account"))
    return page([account_public(a) for a in container.guardrails.accounts.list()], limit, offset)


@router.post("", response_model=NewAccountPublic, status_code=201, summary="Create an account (token shown once)")
def create_account(body: AccountIn, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.USERS_MANAGE, Resource(kind="account"))
    new = container.guardrails.accounts.add(body.name, body.role, body.units, body.profile_id,
                                            created_by=principal.account_id)
    return {"account": account_public(new.account), "token": new.token}


@router.post("/{account_id}/revoke", response_model=AccountPublic, summary="Revoke an account")
def revoke_account(account_id: str, principal: LoggedIn, container: ContainerDep) -> dict[str, Any]:
    require(principal, Action.USERS_MANAGE, Resource(kind="account", id=account_id))
    return account_public(container.guardrails.accounts.revoke(account_id, revoked_by=principal.account_id))
