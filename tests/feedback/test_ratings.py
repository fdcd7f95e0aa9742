"""好差评 closed loop: a bad rating opens a ticket for the responsible unit, which resolves it with a new
knowledge version or disputes it before a reviewer. Every step is an event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from feedback.ratings import (
    DisputeKind,
    InvalidRatingError,
    RatingsConfig,
    RatingsError,
    RatingsService,
    TicketForbiddenError,
    TicketNotFoundError,
    TicketStatus,
    TicketTransitionError,
    add_working_days,
    build_ratings,
)
from guardrails import build_guardrails
from kb.events import MemorySink
from kb.lifecycle import ItemDraft
from kb.models import Actor
from kb.runtime import KnowledgeBase
from tests.published import GUIDE, POLICY, Clock, publish_v2

pytestmark = pytest.mark.integration


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC))  # a Monday, before the KB's own timestamps


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def svc(loaded_kb: KnowledgeBase, sink: MemorySink, clock: Clock) -> Iterator[RatingsService]:
    yield build_ratings(loaded_kb.store, sink, RatingsConfig(fallback_unit="sj-zwfw"), clock=clock)


# -- rating and routing -------------------------------------------------------------------------------------
def test_bad_rating_opens_a_ticket_for_each_owner_unit(svc: RatingsService, sink: MemorySink) -> None:
    out = svc.rate("answer", "turn-1", 1, ["信息过时", "答非所问", "信息过时"], "材料清单已经变了",
                   cited=[(GUIDE, 1), (POLICY, 1)])
    assert out.rating.units == ("sj-scjgj", "sj-rsj")
    assert out.rating.reasons == ("信息过时", "答非所问")
    assert {t.unit for t in out.tickets} == {"sj-scjgj", "sj-rsj"}
    by_unit = {t.unit: t for t in out.tickets}
    assert [c.item_id for c in by_unit["sj-rsj"].cited] == [POLICY]  # each unit sees its own knowledge
    assert all(t.status == TicketStatus.OPEN for t in out.tickets)
    assert by_unit["sj-rsj"].due_on == dt.date(2026, 11, 16)  # 10 working days after Monday 2 Nov
    assert svc.list_tickets(unit="sj-rsj") == [by_unit["sj-rsj"]]  # visible to the owner at once
    names = [e[0] for e in sink.events]
    assert names == ["ratings.rated", "ratings.ticket_opened", "ratings.ticket_opened"]
    rated = sink.events[0][3]
    assert "comment" not in rated and len(rated["comment_sha256"]) == 64


def test_good_ratings_open_no_ticket(svc: RatingsService) -> None:
    out = svc.rate("answer", "turn-2", 3, cited=[(GUIDE, 1)])
    assert out.tickets == () and out.rating.units == ("sj-scjgj",)
    assert svc.list_ratings(unit="sj-scjgj")[0].id == out.rating.id
    assert svc.list_ratings(unit="sj-rsj") == []


def test_matter_rating_goes_to_the_department_else_the_fallback(loaded_kb: KnowledgeBase, sink: MemorySink,
                                                               clock: Clock) -> None:
    svc = build_ratings(loaded_kb.store, sink, RatingsConfig(fallback_unit="sj-zwfw"), clock=clock)
    assert svc.rate("matter", "app-1", 2, ["流程繁琐"], department="sj-rsj").tickets[0].unit == "sj-rsj"
    assert svc.rate("answer", "turn-x", 1).tickets[0].unit == "sj-zwfw"
    bare = build_ratings(loaded_kb.store, sink, RatingsConfig(), clock=clock)
    out = bare.rate("answer", "turn-y", 1)
    assert out.tickets == () and sink.events[-1][0] == "ratings.unrouted"


def test_comment_is_redacted_before_it_is_stored(svc: RatingsService) -> None:
    out = svc.rate("answer", "turn-3", 2, ["其他"], "请打我电话13812345678，身份证310117198803120113",
                   cited=[(GUIDE, 1)])
    stored = svc.rating(out.rating.id).comment
    assert stored is not None and "13812345678" not in stored and "310117198803120113" not in stored
    assert "[手机号]" in stored


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (dict(target="answer", target_id="t", score=0), "score 0 must be a whole number from 1 to 5"),
        (dict(target="answer", target_id="t", score=6), "from 1 to 5"),
        (dict(target="answer", target_id="t", score=True), "from 1 to 5"),
        (dict(target="turn", target_id="t", score=1), "target 'turn'"),
        (dict(target="answer", target_id=" ", score=1), "target_id ' '"),
        (dict(target="answer", target_id="t", score=1, reasons=["太慢"]), "reason '太慢' is not one of"),
        (dict(target="answer", target_id="t", score=1, cited=[("guide-nope", 1)]), "'guide-nope' v1 does not exist"),
        (dict(target="answer", target_id="t", score=1, cited=[(GUIDE, 9)]), f"{GUIDE!r} v9 does not exist"),
        (dict(target="matter", target_id="t", score=1, department="nowhere"), "department 'nowhere'"),
        (dict(target="answer", target_id="t", score=1, comment="长" * 501), "keep it under 500"),
    ],
)
def test_invalid_ratings_are_refused(svc: RatingsService, kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(InvalidRatingError) as exc:
        svc.rate(**kwargs)  # type: ignore[arg-type]
    assert fragment in str(exc.value)
    assert svc.list_ratings() == []


def test_one_rating_per_answer(svc: RatingsService) -> None:
    svc.rate("answer", "turn-4", 5)
    with pytest.raises(InvalidRatingError, match="already rated"):
        svc.rate("answer", "turn-4", 1)
    svc.rate("matter", "turn-4", 1, department="sj-rsj")  # a matter with the same id is another target


def test_working_days_skip_weekends_and_holidays() -> None:
    friday = dt.date(2026, 9, 25)
    assert add_working_days(friday, 1) == dt.date(2026, 9, 28)
    assert add_working_days(friday, 1, extra_workdays={dt.date(2026, 9, 26)}) == dt.date(2026, 9, 26)  # 调休
    national_day = {dt.date(2026, 10, d) for d in range(1, 8)}
    wednesday = dt.date(2026, 9, 30)
    assert add_working_days(wednesday, 1, national_day) == dt.date(2026, 10, 8)
    assert add_working_days(wednesday, 3, national_day) == dt.date(2026, 10, 12)
    assert add_working_days(wednesday, 3, national_day, {dt.date(2026, 10, 10)}) == dt.date(2026, 10, 10)


# -- resolving ----------------------------------------------------------------------------------------------
def test_owner_resolves_with_a_newer_version(svc: RatingsService, loaded_kb: KnowledgeBase, admin: Actor,
                                             make_draft: Callable[..., ItemDraft], sink: MemorySink,
                                             clock: Clock) -> None:
    ticket = svc.rate("answer", "turn-5", 1, ["信息过时"], cited=[(GUIDE, 1)]).tickets[0]
    with pytest.raises(RatingsError, match="not newer than the cited v1"):
        svc.resolve(ticket.id, "sj-scjgj", "zhang", GUIDE, 1)
    with pytest.raises(RatingsError, match="v7 does not exist"):
        svc.resolve(ticket.id, "sj-scjgj", "zhang", GUIDE, 7)
    with pytest.raises(RatingsError, match="neither cited by the rating nor owned by 'sj-scjgj'"):
        svc.resolve(ticket.id, "sj-scjgj", "zhang", POLICY, 1)
    v2 = publish_v2(loaded_kb, admin, make_draft)
    with pytest.raises(TicketForbiddenError, match="belongs to 'sj-scjgj'"):
        svc.resolve(ticket.id, "sj-rsj", "li", GUIDE, v2)
    clock.advance(days=3)
    done = svc.resolve(ticket.id, "sj-scjgj", "zhang", GUIDE, v2, note="更新了材料清单")
    assert done.status == TicketStatus.RESOLVED and done.closed
    assert done.resolution is not None and (done.resolution.item_id, done.resolution.version) == (GUIDE, v2)
    assert done.resolved_by == "zhang" and done.closed_at == clock.now and not done.overdue(dt.date(2026, 12, 31))
    assert sink.events[-1][0] == "ratings.ticket_resolved" and sink.events[-1][3]["version"] == v2
    with pytest.raises(TicketTransitionError, match="is resolved"):
        svc.resolve(ticket.id, "sj-scjgj", "zhang", GUIDE, v2)


def test_matter_ticket_links_a_new_version_of_the_units_own_item(loaded_kb: KnowledgeBase, admin: Actor,
                                                                 make_draft: Callable[..., ItemDraft],
                                                                 sink: MemorySink) -> None:
    now = dt.datetime.now(dt.UTC)
    late = build_ratings(loaded_kb.store, sink, clock=Clock(now + dt.timedelta(minutes=5)))
    ticket = late.rate("matter", "app-2", 1, ["材料复杂"], department="sj-rsj").tickets[0]
    assert ticket.cited == ()
    with pytest.raises(RatingsError, match="written before the ticket was opened"):
        late.resolve(ticket.id, "sj-rsj", "li", POLICY, 1)  # v1 existed before the complaint: not a fix
    with pytest.raises(RatingsError, match="neither cited by the rating nor owned by 'sj-rsj'"):
        late.resolve(ticket.id, "sj-rsj", "li", GUIDE, 1)
    early = build_ratings(loaded_kb.store, sink, clock=Clock(now - dt.timedelta(hours=1)))
    ticket2 = early.rate("matter", "app-3", 2, department="sj-rsj").tickets[0]
    v2 = publish_v2(loaded_kb, admin, make_draft, POLICY, "sj-rsj")  # written after the complaint
    assert early.resolve(ticket2.id, "sj-rsj", "li", POLICY, v2).status == TicketStatus.RESOLVED


def test_unknown_ticket(svc: RatingsService) -> None:
    with pytest.raises(TicketNotFoundError, match="no rectification ticket 't-nope'"):
        svc.resolve("t-nope", "sj-rsj", "li", POLICY, 1)


# -- disputes -----------------------------------------------------------------------------------------------
def test_dispute_confirmed_by_another_reviewer(svc: RatingsService, sink: MemorySink) -> None:
    ticket = svc.rate("answer", "turn-6", 1, ["态度"], "乱说", cited=[(POLICY, 1)]).tickets[0]
    with pytest.raises(RatingsError, match="误评 or 恶意差评"):
        svc.dispute(ticket.id, "sj-rsj", "li", "不服", "答复内容与现行文件一致")
    with pytest.raises(RatingsError, match="needs a reason"):
        svc.dispute(ticket.id, "sj-rsj", "li", DisputeKind.MALICIOUS, " ")
    with pytest.raises(TicketForbiddenError):
        svc.dispute(ticket.id, "sj-scjgj", "zhang", DisputeKind.MALICIOUS, "答复内容与现行文件一致")
    disputed = svc.dispute(ticket.id, "sj-rsj", "li", DisputeKind.MALICIOUS, "答复内容与现行文件一致，评价无具体事由")
    assert disputed.status == TicketStatus.DISPUTED and disputed.dispute_kind == DisputeKind.MALICIOUS
    with pytest.raises(TicketTransitionError):
        svc.resolve(ticket.id, "sj-rsj", "li", POLICY, 1)  # a disputed ticket waits for the reviewer
    with pytest.raises(TicketForbiddenError, match="raised this dispute and may not review it"):
        svc.review_dispute(ticket.id, "li", confirm=True)
    confirmed = svc.review_dispute(ticket.id, "wang", confirm=True, note="核实为恶意差评")
    assert confirmed.status == TicketStatus.DISPUTE_CONFIRMED and confirmed.closed and confirmed.reviewer == "wang"
    assert [e[0] for e in sink.events][-2:] == ["ratings.ticket_disputed", "ratings.dispute_confirmed"]
    with pytest.raises(TicketTransitionError, match="must be disputed"):
        svc.review_dispute(ticket.id, "zhao", confirm=False)


def test_rejected_dispute_goes_back_to_the_owner(svc: RatingsService, loaded_kb: KnowledgeBase, admin: Actor,
                                                 make_draft: Callable[..., ItemDraft], sink: MemorySink) -> None:
    ticket = svc.rate("answer", "turn-7", 2, ["信息过时"], cited=[(GUIDE, 1)]).tickets[0]
    svc.dispute(ticket.id, "sj-scjgj", "zhang", "误评", "答复引用的是现行有效版本")
    rejected = svc.review_dispute(ticket.id, "wang", confirm=False, note="条件确已调整")
    assert rejected.status == TicketStatus.DISPUTE_REJECTED and not rejected.closed
    with pytest.raises(TicketTransitionError):
        svc.dispute(ticket.id, "sj-scjgj", "zhang", "误评", "再次申诉理由")  # no second dispute
    v2 = publish_v2(loaded_kb, admin, make_draft)
    assert svc.resolve(ticket.id, "sj-scjgj", "zhang", GUIDE, v2).status == TicketStatus.RESOLVED
    assert sink.events[-2][0] == "ratings.dispute_rejected"


def test_overdue_and_listing_filters(svc: RatingsService, clock: Clock) -> None:
    t = svc.rate("answer", "turn-8", 1, cited=[(POLICY, 1)]).tickets[0]
    assert not t.overdue(t.due_on) and t.overdue(t.due_on + dt.timedelta(days=1))
    assert svc.list_tickets(status="open") == [t]
    assert svc.list_tickets(status=TicketStatus.RESOLVED) == []
    assert svc.list_tickets(unit="sj-scjgj") == []


def test_the_loop_is_recorded_in_the_tamper_evident_audit_log(loaded_kb: KnowledgeBase, admin: Actor,
                                                              make_draft: Callable[..., ItemDraft],
                                                              tmp_path: Path) -> None:
    guard = build_guardrails(loaded_kb.store.engine, tmp_path / "keys")
    svc = build_ratings(loaded_kb.store, guard.audit, clock=Clock(dt.datetime.now(dt.UTC)))
    ticket = svc.rate("answer", "turn-audit", 1, ["信息过时"], "电话13812345678", cited=[(GUIDE, 1)]).tickets[0]
    svc.resolve(ticket.id, "sj-scjgj", "zhang", GUIDE, publish_v2(loaded_kb, admin, make_draft))
    names = [e.event for e in guard.audit.events() if e.event.startswith("ratings.")]
    assert names == ["ratings.rated", "ratings.ticket_opened", "ratings.ticket_resolved"]
    assert "13812345678" not in guard.audit.export()
    assert guard.audit.verify().ok
