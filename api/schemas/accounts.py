"""Account schemas (admins manage, auditors read)."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import Public
from guardrails.roles import Role


class AccountPublic(Public):
    id: str = Field(description="Account id")
    name: str = Field(description="Login name")
    role: Role = Field(description="Role")
    units: list[str] = Field(description="Owner units (owners only)")
    profile_id: str | None = Field(description="Linked 一人一档 profile (citizens)")
    token_hint: str = Field(description="First characters of the token")
    active: bool = Field(description="Not revoked")


class AccountIn(Public):
    name: str = Field(min_length=1, max_length=64, description="Login name")
    role: str = Field(description="citizen, owner, reviewer, auditor or admin")
    units: list[str] = Field(default_factory=list, max_length=20, description="Owner units (owners only)")
    profile_id: str | None = Field(default=None, max_length=64, description="Linked profile (citizens)")


class NewAccountPublic(Public):
    account: AccountPublic = Field(description="The account")
    token: str = Field(description="Bearer token, shown once")
