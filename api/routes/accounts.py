"""Accounts (admins manage, auditors read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ContainerDep, LoggedIn
from api.schemas import ERRORS, AccountIn, AccountPublic, NewAccountPublic, Page, page
from guardrails.roles import Action, Resource, require

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"], responses=ERRORS)


@router.get("", response_model=Page[AccountPublic], summary="List accounts")
def list_accounts(principal: LoggedIn, container: ContainerDep,
                  limit: Annotated[int, Query(ge=1, le=200, description="Page size")] = 50,
                  offset: Annotated[int, Query(ge=0, le=100000, description="Results to skip")] = 0,
                  ) -> Page[AccountPublic]:
    require(principal, Action.USERS_READ, Resource(kind="account"))
    found = [AccountPublic.model_validate(a) for a in container.guardrails.accounts.list()]
    return page(found, limit, offset)


@router.post("", response_model=NewAccountPublic, status_code=201, summary="Create an account (token shown once)")
def create_account(body: AccountIn, principal: LoggedIn, container: ContainerDep) -> NewAccountPublic:
    require(principal, Action.USERS_MANAGE, Resource(kind="account"))
    new = container.guardrails.accounts.add(body.name, body.role, body.units, body.profile_id,
                                            created_by=principal.account_id)
    return NewAccountPublic(account=AccountPublic.model_validate(new.account), token=new.token)


@router.post("/{account_id}/revoke", response_model=AccountPublic, summary="Revoke an account")
def revoke_account(account_id: str, principal: LoggedIn, container: ContainerDep) -> AccountPublic:
    require(principal, Action.USERS_MANAGE, Resource(kind="account", id=account_id))
    return AccountPublic.model_validate(container.guardrails.accounts.revoke(account_id, revoked_by=principal.account_id))
