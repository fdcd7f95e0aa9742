"""Review gates: the hold queue, the hold triggers and the application approval gate, all audited."""

from __future__ import annotations

import pytest

from guardrails import Guardrails
from guardrails.config import HoldConfig
from guardrails.errors import Forbidden, InvalidInput, InvalidTransition, NotFound
from guardrails.input_rails import InputRails
from guardrails.review import REJECTED_MESSAGE, ApplicationStatus, HoldPolicy, HoldStatus
from guardrails.roles import Principal, Role

pytestmark = pytest.mark.integration

AUDITOR = Principal(account_id="acc-auditor", role=Role.AUDITOR)
ADMIN = Principal(account_id="acc-admin", role=Role.ADMIN)


def held(gr: Guardrails, turn: str = "turn-1"):
    return gr.hold_queue.hold(turn, "sess-1", "低保审批时限为30个工作日。", "hold.sensitive_topic@1: 信访",
                              [("guide-dibao", 2)])


def test_hold_then_approve_releases_the_answer(gr: Guardrails, reviewer: Principal) -> None:
    h = held(gr)
    assert h.status == HoldStatus.PENDING and h.citations == (("guide-dibao", 2),)
    assert gr.hold_queue.released("turn-1") is None
    assert [x.id for x in gr.hold_queue.list()] == [h.id]
    done = gr.hold_queue.approve(h.id, reviewer)
    assert done.status == HoldStatus.APPROVED and done.reviewer == "acc-reviewer"
    assert gr.hold_queue.released("turn-1") == "低保审批时限为30个工作日。"
    assert gr.hold_queue.list() == [] and len(gr.hold_queue.list(None)) == 1
    assert [e.event for e in gr.audit.events(subject="turn-1")] == ["review.held", "review.approved"]


def test_edit_keeps_a_diff(gr: Guardrails, reviewer: Principal) -> None:
    h = held(gr)
    done = gr.hold_queue.edit(h.id, reviewer, "低保审批时限以受理通知为准。")
    assert done.status == HoldStatus.EDITED and done.diff
    assert "-低保审批时限为30个工作日。" in done.diff and "+低保审批时限以受理通知为准。" in done.diff
    assert gr.hold_queue.released("turn-1") == "低保审批时限以受理通知为准。"
    ev = gr.audit.latest("review.edited", "turn-1")
    assert ev is not None and ev.data is not None and ev.data["diff"] == done.diff


def test_reject_tells_the_citizen_where_to_go(gr: Guardrails, reviewer: Principal) -> None:
    h = held(gr)
    with pytest.raises(InvalidInput, match="reason"):
        gr.hold_queue.reject(h.id, reviewer, " ")
    done = gr.hold_queue.reject(h.id, reviewer, "政策口径待确认")
    assert done.status == HoldStatus.REJECTED and done.reject_reason == "政策口径待确认"
    assert gr.hold_queue.released("turn-1") == REJECTED_MESSAGE


def test_a_sessions_holds_say_what_the_citizen_may_see(gr: Guardrails, reviewer: Principal) -> None:
    first, second = held(gr, "turn-1"), held(gr, "turn-2")
    gr.hold_queue.hold("turn-9", "sess-other", "别的会话", "hold.low_confidence@1")
    assert [h.turn_id for h in gr.hold_queue.for_session("sess-1")] == ["turn-1", "turn-2"]
    assert first.citizen_text is None  # pending: nothing to show yet
    gr.hold_queue.approve(first.id, reviewer)
    gr.hold_queue.reject(second.id, reviewer, "政策口径待确认")
    shown = {h.turn_id: h.citizen_text for h in gr.hold_queue.for_session("sess-1")}
    assert shown == {"turn-1": "低保审批时限为30个工作日。", "turn-2": REJECTED_MESSAGE}
    assert gr.hold_queue.for_session("sess-none") == []


def test_decisions_are_final(gr: Guardrails, reviewer: Principal) -> None:
    h = held(gr)
    gr.hold_queue.approve(h.id, reviewer)
    with pytest.raises(InvalidTransition, match="already approved"):
        gr.hold_queue.reject(h.id, reviewer, "late")
    with pytest.raises(InvalidTransition, match="already held"):
        held(gr)


@pytest.mark.parametrize("who", ["citizen", "auditor", "owner"])
def test_only_reviewers_and_admins_decide(gr: Guardrails, citizen: Principal, who: str) -> None:
    principal = {"citizen": citizen, "auditor": AUDITOR,
                 "owner": Principal(account_id="o", role=Role.OWNER, units=("sj-mzj",))}[who]
    h = held(gr)
    with pytest.raises(Forbidden, match="review.decide"):
        gr.hold_queue.approve(h.id, principal)
    assert gr.hold_queue.get(h.id).status == HoldStatus.PENDING
    assert gr.hold_queue.approve(h.id, ADMIN).status == HoldStatus.APPROVED


def test_queue_reading_is_checked_when_a_viewer_is_given(gr: Guardrails, citizen: Principal) -> None:
    h = held(gr)
    assert gr.hold_queue.get(h.id, viewer=AUDITOR).id == h.id
    with pytest.raises(Forbidden):
        gr.hold_queue.list(viewer=citizen)
    with pytest.raises(NotFound, match="h-nope"):
        gr.hold_queue.get("h-nope")


def test_hold_policy_triggers() -> None:
    policy = HoldPolicy(HoldConfig(min_confidence=0.5, llm_hold_matters=("m-dibao",)))
    assert not policy.decide(question="低保标准是多少", confidence=0.9).hold
    d = policy.decide(question="拆迁补偿款怎么算", confidence=0.9)
    assert d.hold and d.rules[0].ref == "hold.sensitive_topic@1" and d.message
    assert policy.decide(question="低保标准是多少", confidence=0.3).rules[0].id == "hold.low_confidence"
    assert policy.decide(question="低保", matter_id="m-dibao", confidence=0.9, llm_phrased=True).hold
    assert not policy.decide(question="居住证", matter_id="m-residence-permit-new", confidence=0.9, llm_phrased=True).hold


def test_hold_policy_follows_input_rails_but_never_holds_emergencies() -> None:
    rails, policy = InputRails(), HoldPolicy()
    bait = rails.check("听说国家规定每人每月发1000元补贴，怎么领？")
    assert policy.decide(question=bait.text, confidence=0.9, input_verdict=bait).rules[0].id == "hold.input_rail"
    emergency = rails.check("我不想活了，拆迁补偿也没拿到")
    d = policy.decide(question=emergency.text, confidence=0.1, input_verdict=emergency)
    assert not d.hold and d.reasons == ("emergency: never held",)


FIELDS = {"name": "样例郑十", "id_number": "310117197506180713", "mobile": "13800001008", "household_size": 1}


def test_application_needing_staff_approval_waits(gr: Guardrails, citizen: Principal, reviewer: Principal) -> None:
    app = gr.applications.create("sess-1", "m-dibao", citizen, FIELDS, requires_staff_approval=True)
    assert app.status == ApplicationStatus.AWAITING_STAFF_REVIEW and app.fields == FIELDS
    done = gr.applications.approve(app.id, reviewer)
    assert done.status == ApplicationStatus.APPROVED and done.decided_by == "acc-reviewer"
    with pytest.raises(InvalidTransition, match="approved"):
        gr.applications.return_(app.id, reviewer, "材料不全")
    events = [e.event for e in gr.audit.events(subject=app.id)]
    assert events == ["application.created", "application.approved"]


def test_application_returned_with_reason(gr: Guardrails, citizen: Principal, reviewer: Principal) -> None:
    app = gr.applications.create("sess-1", "m-dibao", citizen, FIELDS, requires_staff_approval=True)
    with pytest.raises(InvalidInput, match="reason"):
        gr.applications.return_(app.id, reviewer, "")
    done = gr.applications.return_(app.id, reviewer, "请补充收入证明")
    assert done.status == ApplicationStatus.RETURNED and done.return_reason == "请补充收入证明"


def test_application_without_staff_approval_is_submitted(gr: Guardrails, citizen: Principal, reviewer: Principal) -> None:
    app = gr.applications.create("sess-1", "m-shop-sign", citizen, {"shop": "小吃店"}, requires_staff_approval=False)
    assert app.status == ApplicationStatus.SUBMITTED
    with pytest.raises(InvalidTransition, match="submitted"):
        gr.applications.approve(app.id, reviewer)


def test_application_roles_are_rechecked(gr: Guardrails, citizen: Principal, reviewer: Principal) -> None:
    app = gr.applications.create("sess-1", "m-dibao", citizen, FIELDS, requires_staff_approval=True)
    for who in (citizen, AUDITOR):
        with pytest.raises(Forbidden, match="application.approve"):
            gr.applications.approve(app.id, who)
    with pytest.raises(Forbidden, match="application.confirm"):  # a reviewer cannot confirm for a citizen
        gr.applications.create("sess-1", "m-dibao", reviewer, FIELDS, requires_staff_approval=True)
    with pytest.raises(Forbidden, match="belongs to 'acc-other'"):  # nor a citizen in someone else's session
        gr.applications.create("sess-2", "m-dibao", citizen, FIELDS, True, session_owner="acc-other")
    other = Principal(account_id="acc-other", role=Role.CITIZEN)
    assert gr.applications.get(app.id, viewer=citizen).id == app.id
    with pytest.raises(Forbidden):
        gr.applications.get(app.id, viewer=other)
    assert gr.applications.get(app.id, viewer=reviewer).status == ApplicationStatus.AWAITING_STAFF_REVIEW


def test_application_audit_records_field_names_not_values(gr: Guardrails, citizen: Principal) -> None:
    app = gr.applications.create("sess-1", "m-dibao", citizen, FIELDS, requires_staff_approval=True)
    ev = gr.audit.latest("application.created", app.id)
    assert ev is not None and ev.data is not None
    assert ev.data["field_names"] == sorted(FIELDS)
    assert "310117197506180713" not in str(ev.data) and "样例郑十" not in str(ev.data)
