"""Accounts and API tokens. Tokens are random, shown once, stored as sha256 hashes; revoked accounts stop
authenticating at once. Account changes are audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from guardrails.errors import InvalidInput, InvalidTransition, NotFound
from guardrails.roles import Principal, Role
from guardrails.tables import accounts
from kb.events import EventSink, NullSink

TOKEN_PREFIX = "qs_"
_NAME = re.compile(r"^[\w.@-]{1,64}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Account(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    role: Role
    units: tuple[str, ...] = ()
    profile_id: str | None = None
    token_hint: str
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        return Principal(account_id=self.id, role=self.role, units=self.units, profile_id=self.profile_id,
                         name=self.name)


class NewAccount(BaseModel):
    """The result of `add`: the account and its token, which is never shown again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: Account
    token: str


def _account(r: Any) -> Account:
    def aware(v: dt.datetime | None) -> dt.datetime | None:
        return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v

    return Account(id=r.id, name=r.name, role=Role(r.role), units=tuple(r.units), profile_id=r.profile_id,
                   token_hint=r.token_hint, created_at=aware(r.created_at), created_by=r.created_by,
                   revoked_at=aware(r.revoked_at))


class AccountStore:
    def __init__(self, engine: Engine, audit: EventSink | None = None) -> None:
        self.engine = engine
        self.audit = audit or NullSink()

    def add(
        self, name: str, role: Role | str, units: Sequence[str] = (), profile_id: str | None = None,
        created_by: str = "system",
    ) -> NewAccount:
        if not _NAME.match(name):
            raise InvalidInput(f"account name {name!r} must be 1-64 letters, digits or . _ @ -")
        try:
            role = Role(role)
        except ValueError as exc:
            raise InvalidInput(f"role {role!r} is unknown; use one of {[r.value for r in Role]}") from exc
        units = tuple(units)
        if role == Role.OWNER and not units:
            raise InvalidInput(f"owner {name!r} needs --unit (the owner unit whose knowledge they maintain)")
        if role != Role.OWNER and units:
            raise InvalidInput(f"only owners belong to units; drop --unit for role {role.value!r}")
        if self.find_by_name(name) is not None:
            raise InvalidInput(f"an account named {name!r} exists; pick another name or revoke it first")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        account_id = f"acc-{secrets.token_hex(5)}"
        with self.engine.begin() as conn:
            conn.execute(accounts.insert().values(
                id=account_id, name=name, role=role.value, units=list(units), profile_id=profile_id,
                token_hash=hash_token(token), token_hint=token[:7], created_at=dt.datetime.now(dt.UTC),
                created_by=created_by,
            ))
        self.audit.record("account.added", created_by, account_id,
                          {"name": name, "role": role.value, "units": list(units), "profile_id": profile_id})
        return NewAccount(account=self.get(account_id), token=token)

    def get(self, account_id: str) -> Account:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        if r is None:
            raise NotFound(f"no account {account_id!r}; see `qingsong users list`")
        return _account(r)

    def find_by_name(self, name: str) -> Account | None:
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(accounts).where(accounts.c.name == name)).first()
        return _account(r) if r else None

    def resolve(self, id_or_name: str) -> Account:
        found = self.find_by_name(id_or_name)
        return found if found is not None else self.get(id_or_name)

    def list(self, include_revoked: bool = True) -> list[Account]:
        q = sa.select(accounts).order_by(accounts.c.created_at)
        if not include_revoked:
            q = q.where(accounts.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(q)]

    def revoke(self, id_or_name: str, revoked_by: str = "system") -> Account:
        acc = self.resolve(id_or_name)
        if acc.revoked_at is not None:
            return acc
        with self.engine.begin() as conn:
            if acc.role == Role.ADMIN:  # nobody could manage accounts any more, nor undo this
                others = conn.execute(sa.select(sa.func.count()).select_from(accounts).where(
                    accounts.c.role == Role.ADMIN.value, accounts.c.revoked_at.is_(None), accounts.c.id != acc.id,
                )).scalar_one()
                if not others:
                    raise InvalidTransition(
                        f"不能撤销最后一个管理员账号 {acc.name!r}：请先添加另一位管理员。"
                        f"(the last active admin cannot be revoked; add another admin first)")
            conn.execute(accounts.update().where(accounts.c.id == acc.id).values(revoked_at=dt.datetime.now(dt.UTC)))
        self.audit.record("account.revoked", revoked_by, acc.id, {"name": acc.name, "role": acc.role.value})
        return self.get(acc.id)

    def authenticate(self, token: str | None) -> Principal | None:
        """The principal of an active account holding `token`, else None."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.engine.connect() as conn:
            r = conn.execute(sa.select(accounts).where(accounts.c.token_hash == hash_token(token))).first()
        if r is None or r.revoked_at is not None:
            return None
        return _account(r).principal()
