"""Every role × action pair, against the written-out policy table below (not derived from the code)."""

from __future__ import annotations

from typing import Any

import pytest

from guardrails.errors import Forbidden, GuardrailsError
from guardrails.roles import POLICY, Action, Principal, Resource, Role, authorize, require, to_actor
from kb.errors import PermissionDeniedError
from kb.runtime import KnowledgeBase

# any = allowed on every resource; unit = only on its own unit's resources; self = only on its own
# (session, application, profile; the hand-off the reviewer accepted); - = never.
MATRIX = """
action                  citizen  owner    reviewer auditor  admin
knowledge.read          any      any      any      any      any
knowledge.read_draft    -        unit     any      any      any
knowledge.draft         -        unit     -        -        any
knowledge.submit        -        unit     -        -        any
knowledge.approve       -        unit     -        -        any
knowledge.publish       -        unit     -        -        any
knowledge.retire        -        unit     -        -        any
knowledge.tag           -        unit     -        -        any
knowledge.ingest        -        -        -        -        any
index.rebuild           -        -        -        -        any
session.read            self     -        any      any      any
session.write           self     -        -        -        -
profile.read            self     -        -        -        -
application.confirm     self     -        -        -        -
application.read        self     -        any      any      any
application.approve     -        -        any      -        any
application.return      -        -        any      -        any
review.read             -        -        any      any      any
review.decide           -        -        any      -        any
handoff.read            -        -        any      any      any
handoff.accept          -        -        any      -        any
handoff.close           -        -        self     -        any
audit.read              -        -        -        any      any
audit.verify            -        -        -        any      any
audit.export            -        -        -        any      any
audit.checkpoint        -        -        -        any      any
audit.consistency       -        -        -        any      -
users.read              -        -        -        any      any
users.manage            -        -        -        -        any
ratings.create          self     -        -        -        -
ratings.read            -        unit     any      any      any
ratings.resolve         -        unit     -        -        any
ratings.dispute_review  -        -        any      -        any
policy.simulate         -        unit     any      -        any
personal_data.erase     -        -        -        -        any
settings.manage         -        -        -        -        any
"""

ROLES = [Role(r) for r in MATRIX.split("\n")[1].split()[1:]]
TABLE = {Action(line.split()[0]): dict(zip(ROLES, line.split()[1:], strict=True))
         for line in MATRIX.strip().split("\n")[1:]}

PRINCIPALS = {
    Role.CITIZEN: Principal(account_id="c-1", role=Role.CITIZEN, profile_id="p-1"),
    Role.OWNER: Principal(account_id="o-1", role=Role.OWNER, units=("sj-mzj",)),
    Role.REVIEWER: Principal(account_id="r-1", role=Role.REVIEWER),
    Role.AUDITOR: Principal(account_id="a-1", role=Role.AUDITOR),
    Role.ADMIN: Principal(account_id="ad-1", role=Role.ADMIN),
}


def own(p: Principal) -> Resource:
    return Resource(kind="thing", id="x", unit="sj-mzj", owner=p.account_id)


FOREIGN = Resource(kind="thing", id="y", unit="sj-scjgj", owner="c-2")


@pytest.mark.unit
def test_table_covers_every_action_and_role() -> None:
    assert set(TABLE) == set(Action)
    assert set(ROLES) == set(Role)


@pytest.mark.unit
@pytest.mark.parametrize(("action", "role"), [(a, r) for a in Action for r in Role], ids=lambda v: str(v))
def test_role_action_pair(action: Action, role: Role) -> None:
    p = PRINCIPALS[role]
    expected = TABLE[action][role]
    on_own = authorize(p, action, own(p))
    on_foreign = authorize(p, action, FOREIGN)
    assert on_own.allowed == (expected != "-"), on_own.reason
    assert on_foreign.allowed == (expected == "any"), on_foreign.reason
    if expected == "-":
        with pytest.raises(Forbidden, match=action.value):
            require(p, action, own(p))
    else:
        assert require(p, action, own(p)).allowed


@pytest.mark.unit
def test_policy_table_in_code_matches_the_written_table() -> None:
    for action, row in TABLE.items():
        for role, cell in row.items():
            scope = POLICY[action].get(role)
            assert (scope.value if scope else "-") == cell, (action, role)


@pytest.mark.unit
def test_forbidden_is_a_guardrails_error_and_explains() -> None:
    with pytest.raises(GuardrailsError, match=r"'c-1' may only 'session.read' their own session; this one belongs to 'c-2'"):
        require(PRINCIPALS[Role.CITIZEN], Action.SESSION_READ, Resource(kind="session", owner="c-2"))


@pytest.mark.unit
def test_citizen_reads_own_session_but_not_another_citizens() -> None:
    me = PRINCIPALS[Role.CITIZEN]
    assert authorize(me, Action.SESSION_READ, Resource(kind="session", id="s-1", owner="c-1")).allowed
    assert authorize(me, Action.SESSION_READ, Resource(kind="session", id="s-1", owner="p-1")).allowed  # by profile
    other = authorize(me, Action.SESSION_READ, Resource(kind="session", id="s-2", owner="c-2"))
    assert not other.allowed and "c-2" in other.reason
    assert not authorize(me, Action.SESSION_READ, Resource(kind="session", id="s-3")).allowed  # owner unknown


@pytest.mark.unit
def test_four_eyes_owner_may_not_approve_own_version() -> None:
    owner = PRINCIPALS[Role.OWNER]
    mine = Resource(kind="knowledge", unit="sj-mzj", author="o-1")
    colleague = Resource(kind="knowledge", unit="sj-mzj", author="o-2")
    assert not authorize(owner, Action.KNOWLEDGE_APPROVE, mine).allowed
    assert authorize(owner, Action.KNOWLEDGE_APPROVE, colleague).allowed
    assert not authorize(PRINCIPALS[Role.ADMIN], Action.KNOWLEDGE_APPROVE, Resource(author="ad-1")).allowed


@pytest.mark.unit
def test_dispute_review_refuses_whoever_raised_the_dispute() -> None:
    reviewer, admin = PRINCIPALS[Role.REVIEWER], PRINCIPALS[Role.ADMIN]
    raised_by_admin = Resource(kind="ticket", id="t-1", unit="sj-scjgj", author="ad-1")
    refused = authorize(admin, Action.RATINGS_DISPUTE_REVIEW, raised_by_admin)
    assert not refused.allowed and "raised this dispute" in refused.reason
    assert authorize(reviewer, Action.RATINGS_DISPUTE_REVIEW, raised_by_admin).allowed
    with pytest.raises(Forbidden, match="four-eyes: 'r-1' raised this dispute"):
        require(reviewer, Action.RATINGS_DISPUTE_REVIEW, Resource(kind="ticket", author="r-1"))


@pytest.mark.unit
def test_only_the_accepting_reviewer_closes_a_handoff() -> None:
    reviewer, admin = PRINCIPALS[Role.REVIEWER], PRINCIPALS[Role.ADMIN]
    taken_by_me = Resource(kind="handoff", id="handoff-1", owner="r-1")
    taken_by_other = Resource(kind="handoff", id="handoff-1", owner="r-2")
    assert authorize(reviewer, Action.HANDOFF_CLOSE, taken_by_me).allowed
    assert not authorize(reviewer, Action.HANDOFF_CLOSE, taken_by_other).allowed
    assert authorize(admin, Action.HANDOFF_CLOSE, taken_by_other).allowed


@pytest.mark.unit
def test_unit_scope_needs_the_resource_unit() -> None:
    d = authorize(PRINCIPALS[Role.OWNER], Action.KNOWLEDGE_RETIRE, Resource(kind="knowledge", id="k"))
    assert not d.allowed and "unit" in d.reason


@pytest.mark.unit
def test_to_actor() -> None:
    assert to_actor(PRINCIPALS[Role.ADMIN]).admin
    owner = to_actor(PRINCIPALS[Role.OWNER])
    assert owner.units == ("sj-mzj",) and not owner.admin and owner.id == "o-1"
    for role in (Role.CITIZEN, Role.REVIEWER, Role.AUDITOR):
        a = to_actor(PRINCIPALS[role])
        assert a.units == () and not a.admin


@pytest.mark.integration
def test_owner_of_unit_a_cannot_retire_unit_b_item(kb: KnowledgeBase, make_draft: Any, admin: Any) -> None:
    """The policy refuses, and so does the real KnowledgeService given the principal's actor."""
    draft = make_draft(item_id="guide-b-item", owner="sj-scjgj")
    v = kb.service.propose(draft, admin)
    kb.service.publish_direct(draft.id, v.number, admin)
    owner_a = Principal(account_id="o-a", role=Role.OWNER, units=("sj-mzj",))
    owner_b = Principal(account_id="o-b", role=Role.OWNER, units=("sj-scjgj",))
    item = kb.store.get_item(draft.id)
    with pytest.raises(Forbidden, match="sj-scjgj"):
        require(owner_a, Action.KNOWLEDGE_RETIRE, Resource(kind="knowledge", id=item.id, unit=item.owner))
    with pytest.raises(PermissionDeniedError):
        kb.service.retire(item.id, to_actor(owner_a), "不再适用")
    require(owner_b, Action.KNOWLEDGE_RETIRE, Resource(kind="knowledge", id=item.id, unit=item.owner))
    assert kb.service.retire(item.id, to_actor(owner_b), "不再适用").status.value == "retired"


@pytest.mark.integration
def test_four_eyes_through_the_knowledge_service(kb: KnowledgeBase, make_draft: Any) -> None:
    author = Principal(account_id="o-author", role=Role.OWNER, units=("sj-scjgj",))
    colleague = Principal(account_id="o-colleague", role=Role.OWNER, units=("sj-scjgj",))
    v = kb.service.propose(make_draft(item_id="guide-four-eyes"), to_actor(author))
    kb.service.submit(v.item_id, v.number, to_actor(author))
    res = Resource(kind="knowledge", id=v.item_id, unit="sj-scjgj", author=v.author)
    assert not authorize(author, Action.KNOWLEDGE_APPROVE, res).allowed
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        kb.service.approve(v.item_id, v.number, to_actor(author))
    require(colleague, Action.KNOWLEDGE_APPROVE, res)
    assert kb.service.approve(v.item_id, v.number, to_actor(colleague)).approved_by == "o-colleague"
