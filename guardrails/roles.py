"""Roles and the one authorisation policy. Every decision in the product goes through `authorize`; the server
calls `require` again on each decision, whatever a client says was approved (approval is not authorisation).

Scopes: ANY (any resource), UNIT (owner role, resource's unit among the principal's units: 谁录入谁负责),
SELF (the resource belongs to the principal: a citizen's own session, application, profile; the hand-off a
reviewer accepted). Knowledge approval and dispute review additionally refuse the resource's author (four-eyes).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, model_validator

from guardrails.errors import Forbidden
from kb.models import Actor


class Role(StrEnum):
    CITIZEN = "citizen"
    OWNER = "owner"  # staff of an owner unit: authors and maintains the unit's knowledge
    REVIEWER = "reviewer"  # staff: reviews held answers, applications, hand-offs
    AUDITOR = "auditor"  # read-only: audit log, traces, exports
    ADMIN = "admin"


class Action(StrEnum):
    KNOWLEDGE_READ = "knowledge.read"
    KNOWLEDGE_READ_DRAFT = "knowledge.read_draft"  # unpublished items and versions: titles, content, history
    KNOWLEDGE_DRAFT = "knowledge.draft"
    KNOWLEDGE_SUBMIT = "knowledge.submit"
    KNOWLEDGE_APPROVE = "knowledge.approve"
    KNOWLEDGE_PUBLISH = "knowledge.publish"
    KNOWLEDGE_RETIRE = "knowledge.retire"
    KNOWLEDGE_TAG = "knowledge.tag"
    KNOWLEDGE_INGEST = "knowledge.ingest"  # bulk load with a four-eyes waiver
    INDEX_REBUILD = "index.rebuild"
    SESSION_READ = "session.read"
    SESSION_WRITE = "session.write"
    PROFILE_READ = "profile.read"  # 一人一档, with the citizen's consent
    APPLICATION_CONFIRM = "application.confirm"  # the citizen confirms and submits
    APPLICATION_READ = "application.read"
    APPLICATION_APPROVE = "application.approve"
    APPLICATION_RETURN = "application.return"
    REVIEW_QUEUE_READ = "review.read"
    REVIEW_DECIDE = "review.decide"  # release, edit or reject a held answer
    HANDOFF_READ = "handoff.read"  # the 线上人工帮办 queue
    HANDOFF_ACCEPT = "handoff.accept"  # 线上人工帮办: take an open hand-off
    HANDOFF_CLOSE = "handoff.close"  # finish a hand-off one has accepted, with a note
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_EXPORT = "audit.export"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    AUDIT_CONSISTENCY = "audit.consistency"  # an auditor's consistency proof against a kept checkpoint
    USERS_READ = "users.read"
    USERS_MANAGE = "users.manage"
    RATINGS_CREATE = "ratings.create"  # 好差评
    RATINGS_READ = "ratings.read"
    RATINGS_RESOLVE = "ratings.resolve"  # rectification of a bad rating
    RATINGS_DISPUTE_REVIEW = "ratings.dispute_review"  # confirm or reject a 误评/恶意差评 dispute
    POLICY_SIMULATE = "policy.simulate"  # 免申即享 eligibility simulation over profiles
    PERSONAL_DATA_ERASE = "personal_data.erase"
    SETTINGS_MANAGE = "settings.manage"


class Scope(StrEnum):
    ANY = "any"
    UNIT = "unit"
    SELF = "self"


class Principal(BaseModel):
    """An authenticated caller."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    role: Role
    units: tuple[str, ...] = ()
    profile_id: str | None = None
    name: str | None = None

    @model_validator(mode="after")
    def _owner_has_units(self) -> Principal:
        if self.role == Role.OWNER and not self.units:
            raise ValueError(f"owner {self.account_id!r} needs at least one unit; pass units=('sj-mzj',)")
        return self


class Resource(BaseModel):
    """What an action is applied to. Only the fields a scope needs are required."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = ""
    id: str | None = None
    unit: str | None = None  # owning unit of a knowledge item, rating, policy
    owner: str | None = None  # the citizen (account or profile id) a session/application/profile belongs to
    author: str | None = None  # who wrote the knowledge version (four-eyes)


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed: bool
    action: Action
    role: Role
    scope: Scope | None = None
    reason: str

    @property
    def rule(self) -> str:
        return f"authz.{self.action.value}@{POLICY_VERSION}"


C, OW, R, AU, AD = Role.CITIZEN, Role.OWNER, Role.REVIEWER, Role.AUDITOR, Role.ADMIN
POLICY_VERSION = 1
# The whole policy in one table: action -> {role: scope}. A role missing from a row is denied.
POLICY: dict[Action, dict[Role, Scope]] = {
    Action.KNOWLEDGE_READ: {C: Scope.ANY, OW: Scope.ANY, R: Scope.ANY, AU: Scope.ANY, AD: Scope.ANY},
    Action.KNOWLEDGE_READ_DRAFT: {OW: Scope.UNIT, R: Scope.ANY, AU: Scope.ANY, AD: Scope.ANY},
    Action.KNOWLEDGE_DRAFT: {OW: Scope.UNIT, AD: Scope.ANY},
    Action.KNOWLEDGE_SUBMIT: {OW: Scope.UNIT, AD: Scope.ANY},
    Action.KNOWLEDGE_APPROVE: {OW: Scope.UNIT, AD: Scope.ANY},
    Action.KNOWLEDGE_PUBLISH: {OW: Scope.UNIT, AD: Scope.ANY},
    Action.KNOWLEDGE_RETIRE: {OW: Scope.UNIT, AD: Scope.ANY},
    Action.KNOWLEDGE_TAG: {OW: Scope.UNIT, AD: Scope.ANY},
    Action.KNOWLEDGE_INGEST: {AD: Scope.ANY},
    Action.INDEX_REBUILD: {AD: Scope.ANY},
    Action.SESSION_READ: {C: Scope.SELF, R: Scope.ANY, AU: Scope.ANY, AD: Scope.ANY},
    Action.SESSION_WRITE: {C: Scope.SELF},
    Action.PROFILE_READ: {C: Scope.SELF},
    Action.APPLICATION_CONFIRM: {C: Scope.SELF},
    Action.APPLICATION_READ: {C: Scope.SELF, R: Scope.ANY, AU: Scope.ANY, AD: Scope.ANY},
    Action.APPLICATION_APPROVE: {R: Scope.ANY, AD: Scope.ANY},
    Action.APPLICATION_RETURN: {R: Scope.ANY, AD: Scope.ANY},
    Action.REVIEW_QUEUE_READ: {R: Scope.ANY, AU: Scope.ANY, AD: Scope.ANY},
    Action.REVIEW_DECIDE: {R: Scope.ANY, AD: Scope.ANY},
    Action.HANDOFF_READ: {R: Scope.ANY, AU: Scope.ANY, AD: Scope.ANY},
    Action.HANDOFF_ACCEPT: {R: Scope.ANY, AD: Scope.ANY},
    Action.HANDOFF_CLOSE: {R: Scope.SELF, AD: Scope.ANY},  # SELF: the hand-off belongs to who accepted it
    Action.AUDIT_READ: {AU: Scope.ANY, AD: Scope.ANY},
    Action.AUDIT_VERIFY: {AU: Scope.ANY, AD: Scope.ANY},
    Action.AUDIT_EXPORT: {AU: Scope.ANY, AD: Scope.ANY},
    Action.AUDIT_CHECKPOINT: {AU: Scope.ANY, AD: Scope.ANY},
    Action.AUDIT_CONSISTENCY: {AU: Scope.ANY},  # auditors only: the operator (admin) is who they check
    Action.USERS_READ: {AU: Scope.ANY, AD: Scope.ANY},
    Action.USERS_MANAGE: {AD: Scope.ANY},
    Action.RATINGS_CREATE: {C: Scope.SELF},
    Action.RATINGS_READ: {OW: Scope.UNIT, R: Scope.ANY, AU: Scope.ANY, AD: Scope.ANY},
    Action.RATINGS_RESOLVE: {OW: Scope.UNIT, AD: Scope.ANY},
    Action.RATINGS_DISPUTE_REVIEW: {R: Scope.ANY, AD: Scope.ANY},
    Action.POLICY_SIMULATE: {OW: Scope.UNIT, R: Scope.ANY, AD: Scope.ANY},
    Action.PERSONAL_DATA_ERASE: {AD: Scope.ANY},
    Action.SETTINGS_MANAGE: {AD: Scope.ANY},
}
# Actions the resource's author may not do themselves (four-eyes), with what authorship means for each.
NOT_BY_AUTHOR: dict[Action, str] = {
    Action.KNOWLEDGE_APPROVE: "wrote this version and may not approve it",
    Action.RATINGS_DISPUTE_REVIEW: "raised this dispute and may not review it",
}


def authorize(principal: Principal, action: Action, resource: Resource | None = None) -> Decision:
    """Decide whether `principal` may do `action` on `resource`. Pure: no I/O, no side effects."""
    action = Action(action)
    res = resource or Resource()

    def deny(reason: str, scope: Scope | None = None) -> Decision:
        return Decision(allowed=False, action=action, role=principal.role, scope=scope, reason=reason)

    scope = POLICY.get(action, {}).get(principal.role)
    if scope is None:
        return deny(f"role {principal.role.value!r} may not {action.value!r}")
    if scope == Scope.UNIT:
        if res.unit is None:
            return deny(f"{action.value!r} needs the resource's unit to check unit scope", scope)
        if res.unit not in principal.units:
            return deny(f"{principal.account_id!r} belongs to {list(principal.units)!r}, not to unit {res.unit!r} "
                        "(谁录入谁负责)", scope)
    if scope == Scope.SELF:
        mine = {principal.account_id} | ({principal.profile_id} if principal.profile_id else set())
        if res.owner is None or res.owner not in mine:
            return deny(f"{principal.account_id!r} may only {action.value!r} their own {res.kind or 'resource'}; "
                        f"this one belongs to {res.owner!r}", scope)
    if action in NOT_BY_AUTHOR and res.author is not None and res.author == principal.account_id:
        return deny(f"four-eyes: {principal.account_id!r} {NOT_BY_AUTHOR[action]}", scope)
    return Decision(allowed=True, action=action, role=principal.role, scope=scope,
                    reason=f"role {principal.role.value!r} may {action.value!r} ({scope.value} scope)")


def require(principal: Principal, action: Action, resource: Resource | None = None) -> Decision:
    """`authorize`, raising Forbidden when denied."""
    decision = authorize(principal, action, resource)
    if not decision.allowed:
        raise Forbidden(f"forbidden: {decision.reason}; ask an admin for a role that allows {action.value!r}")
    return decision


def to_actor(principal: Principal) -> Actor:
    """The knowledge core's view of a principal: unit scope for owners, admin for admins, nothing otherwise."""
    return Actor(
        id=principal.account_id,
        units=principal.units if principal.role == Role.OWNER else (),
        admin=principal.role == Role.ADMIN,
    )
