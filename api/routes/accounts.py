"""Accounts (admins manage, auditors read)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.container import Container
from api.deps import ContainerDep, LoggedIn
from api.schemas import ERRORS, AccountIn, AccountPublic, NewAccountPublic, Page, page
from guardrails.errors import InvalidInput
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
    _check_known(body, container)
    new = container.guardrails.accounts.add(body.name, body.role, body.units, body.profile_id,
                                            created_by=principal.account_id)
    return NewAccountPublic(account=AccountPublic.model_validate(new.account), token=new.token)


def _check_known(body: AccountIn, container: Container) -> None:
    """An account names only units and profiles that exist: a typo would otherwise make an owner who owns
    nothing, or a citizen whose 一人一档 never loads."""
    for unit in body.units:
        if container.kb.queries.unit(unit) is None:
            known = "、".join(u.id for u in container.kb.queries.units()[:5])
            raise InvalidInput(f"单位 {unit!r} 不存在，请填写已登记的单位编号（例如 {known}）。"
                               f"(unknown unit {unit!r}; see units.yaml)")
    if body.profile_id is not None and container.profiles.find(body.profile_id) is None:
        raise InvalidInput(f"档案 {body.profile_id!r} 不存在，请填写已有的一人一档/一企一档编号（qingsong profiles list）。"
                           f"(unknown profile {body.profile_id!r})")


@router.post("/{account_id}/revoke", response_model=AccountPublic, summary="Revoke an account")
def revoke_account(account_id: str, principal: LoggedIn, container: ContainerDep) -> AccountPublic:
    require(principal, Action.USERS_MANAGE, Resource(kind="account", id=account_id))
    return AccountPublic.model_validate(container.guardrails.accounts.revoke(account_id, revoked_by=principal.account_id))
