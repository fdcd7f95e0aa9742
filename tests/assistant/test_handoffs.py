"""线上人工帮办 desk: a hand-off the assistant recorded is accepted and closed by a reviewer, with the role checked
on each step, a compare-and-set on the status, and the decisions (who, when, note) read back from the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest

from api import db
from assistant.errors import HandoffNotFoundError, HandoffTransitionError, InvalidHandoffNoteError
from assistant.handoffs import HandoffDesk, HandoffStatus
from assistant.store import AssistantStore
from guardrails.audit import AuditLog
from guardrails.errors import Forbidden
from guardrails.roles import Principal, Role
from kb.store import create_engine

pytestmark = pytest.mark.integration

WANG = Principal(account_id="acc-wang", role=Role.REVIEWER, name="wang")
LI = Principal(account_id="acc-li", role=Role.REVIEWER, name="li")
ADMIN = Principal(account_id="acc-admin", role=Role.ADMIN)
AUDITOR = Principal(account_id="acc-auditor", role=Role.AUDITOR)
CITIZEN = Principal(account_id="acc-citizen", role=Role.CITIZEN)
TALK = [{"turn": 1, "question": "我要转人工", "reply": "已为您转接人工。", "outcome": "handed_off"}]


@pytest.fixture
def desk(tmp_path: Path) -> HandoffDesk:
    engine = create_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    db.upgrade(engine)
    store = AssistantStore(engine)
    return HandoffDesk(store, AuditLog(engine, tmp_path / "keys"))


def test_accept_then_close_records_who_when_and_why(desk: HandoffDesk) -> None:
    hid = desk.store.record_handoff("s-1", "turn-1", "citizen_request", TALK)
    queued = desk.list(WANG)
    assert [(h.id, h.status, h.conversation[0]["question"]) for h in queued] == [(hid, HandoffStatus.OPEN, "我要转人工")]

    accepted = desk.accept(hid, WANG, "电话联系市民")
    assert (accepted.status, accepted.accepted_by, accepted.accept_note) == (HandoffStatus.ACCEPTED, "acc-wang", "电话联系市民")
    assert accepted.accepted_at is not None and accepted.closed_by is None
    with pytest.raises(HandoffTransitionError, match="already accepted by 'acc-wang'"):
        desk.accept(hid, LI)

    closed = desk.close(hid, WANG, "已电话解答，市民满意")
    assert (closed.status, closed.closed_by, closed.close_note) == (HandoffStatus.CLOSED, "acc-wang", "已电话解答，市民满意")
    assert desk.list(WANG) == [] and [h.id for h in desk.list(WANG, (HandoffStatus.CLOSED,))] == [hid]
    events = [(e.event, e.actor, (e.data or {}).get("handoff_id")) for e in desk.log.events(subject="turn-1")]
    assert events == [("handoff.accepted", "acc-wang", hid), ("handoff.closed", "acc-wang", hid)]


def test_only_the_acceptor_or_an_admin_closes_and_a_note_is_required(desk: HandoffDesk) -> None:
    first = desk.store.record_handoff("s-1", "turn-1", "unknown", TALK)
    second = desk.store.record_handoff("s-2", "turn-2", "emergency", TALK)
    with pytest.raises(HandoffTransitionError, match="accept it first"):
        desk.close(first, WANG, "想直接结束")
    desk.accept(first, WANG)
    desk.accept(second, WANG)
    with pytest.raises(Forbidden, match="this one belongs to 'acc-wang'"):
        desk.close(first, LI, "替同事结束")
    with pytest.raises(InvalidHandoffNoteError, match="needs a note"):
        desk.close(first, WANG, "   ")
    assert desk.close(first, WANG, "已处理").closed_by == "acc-wang"
    assert desk.close(second, ADMIN, "管理员代为结束").closed_by == "acc-admin"
    with pytest.raises(HandoffTransitionError, match="is closed; it is finished"):
        desk.close(second, ADMIN, "再结束一次")


def test_roles_are_checked_on_every_step(desk: HandoffDesk) -> None:
    hid = desk.store.record_handoff("s-1", "turn-1", "citizen_request", TALK)
    assert [h.id for h in desk.list(AUDITOR)] == [hid]  # auditors read the queue
    for who in (AUDITOR, CITIZEN):
        with pytest.raises(Forbidden, match="handoff.accept"):
            desk.accept(hid, who)
    with pytest.raises(Forbidden, match="handoff.read"):
        desk.list(CITIZEN)
    with pytest.raises(Forbidden, match="handoff.close"):  # the role is refused before the state is revealed
        desk.close(hid, CITIZEN, "x")
    with pytest.raises(HandoffNotFoundError, match="no hand-off 'handoff-nope'"):
        desk.accept("handoff-nope", WANG)
    assert desk.get(hid, WANG).status == HandoffStatus.OPEN


def test_a_forgotten_payload_keeps_who_but_loses_the_note(desk: HandoffDesk) -> None:
    hid = desk.store.record_handoff("s-1", "turn-1", "citizen_request", TALK)
    desk.accept(hid, WANG, "回电 13800001234")
    assert desk.log.forget("turn-1") >= 1
    h = desk.get(hid, WANG)
    assert (h.accepted_by, h.accept_note) == ("acc-wang", None)
    assert desk.close(hid, WANG, "已处理").status == HandoffStatus.CLOSED  # the acceptor is in the leaf, not the payload
