import datetime as dt

import pytest

from kb.diff import diff_versions
from kb.errors import InvalidContentError, LifecycleError, PermissionDeniedError
from kb.events import MemorySink
from kb.models import (
    Actor,
    Audience,
    ItemStatus,
    Level,
    SearchFilters,
    Section,
    Tag,
    VersionContent,
    VersionState,
)

pytestmark = pytest.mark.integration
AUTHOR = Actor(id="zhang", units=("sj-scjgj",))
APPROVER = Actor(id="li", units=("sj-scjgj",))
OTHER_UNIT = Actor(id="wang", units=("sj-mzj",))


def publish_new(kb, draft, author=AUTHOR, approver=APPROVER):
    v = kb.service.propose(draft, author)
    kb.service.submit(v.item_id, v.number, author)
    kb.service.approve(v.item_id, v.number, approver)
    return kb.service.publish(v.item_id, v.number, approver)


def test_full_lifecycle_with_four_eyes(kb, make_draft):
    sink = MemorySink()
    kb.service.events = sink
    v = kb.service.propose(make_draft(), AUTHOR)
    assert v.state == VersionState.DRAFT and kb.store.get_item(v.item_id).status == ItemStatus.DRAFT
    kb.service.submit(v.item_id, 1, AUTHOR)
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        kb.service.approve(v.item_id, 1, AUTHOR)
    with pytest.raises(LifecycleError, match="approved"):
        kb.service.publish(v.item_id, 1, AUTHOR)
    kb.service.approve(v.item_id, 1, APPROVER)
    published = kb.service.publish(v.item_id, 1, APPROVER)
    assert published.state == VersionState.PUBLISHED and published.approved_by == "li"
    assert kb.store.get_item(v.item_id).current_version == 1
    assert [e[0] for e in sink.events] == [
        "knowledge.drafted", "knowledge.submitted", "knowledge.approved", "knowledge.published"]
    assert kb.retriever.search("测试事项", top_k=3)[0].item_id == v.item_id


def test_four_eyes_can_be_disabled(kb, make_draft):
    kb.service.four_eyes = False
    v = kb.service.propose(make_draft(), AUTHOR)
    assert kb.service.publish(v.item_id, v.number, AUTHOR).state == VersionState.PUBLISHED


def test_only_owner_unit_changes_an_item(kb, make_draft):
    publish_new(kb, make_draft())
    with pytest.raises(PermissionDeniedError, match="谁录入谁负责"):
        kb.service.retire("guide-test-item", OTHER_UNIT, "不再适用")
    with pytest.raises(PermissionDeniedError):
        kb.service.propose(make_draft(title="篡改"), OTHER_UNIT)
    assert kb.store.get_item("guide-test-item").status == ItemStatus.PUBLISHED


def test_unknown_owner_and_bad_dates_are_rejected(kb, make_draft):
    with pytest.raises(InvalidContentError, match="unknown owner unit 'nobody'"):
        kb.service.propose(make_draft(owner="nobody"), Actor(id="x", admin=True))
    with pytest.raises(InvalidContentError, match="expires_at"):
        kb.service.propose(make_draft(expires_at=dt.date(2020, 1, 1)), AUTHOR)


def test_new_version_replaces_old_in_search_and_history_diff(kb, make_draft):
    publish_new(kb, make_draft())
    changed = make_draft(sections={
        "申请条件": "申请人应当具有完全民事行为能力。经营场所应当符合规划要求。",
        "申请材料": "1. 申请书原件1份。\n2. 身份证明（电子证照可免交）。\n3. 经营场所照片。",
        "办理流程": "网上申请，窗口受理，审核决定，发证。",
        "办理时限": "承诺时限1个工作日。",
        "收费标准": "不收费。",
        "设定依据": "《测试条例》第十条。",
    })
    v2 = publish_new(kb, changed)
    assert v2.number == 2
    history = kb.store.list_versions("guide-test-item")
    assert [v.state for v in history] == [VersionState.SUPERSEDED, VersionState.PUBLISHED]
    hits = kb.retriever.search("办理时限 工作日", top_k=20)
    assert {h.version for h in hits if h.item_id == "guide-test-item"} == {2}
    d = diff_versions(history[0], history[1])
    assert d.changed_sections == ["申请材料", "办理时限"]
    assert "+承诺时限1个工作日。" in next(s.unified for s in d.sections if s.heading == "办理时限")
    assert kb.writer.verify().ok


def test_retire_with_reason_and_replacement_is_never_retrieved(kb, make_draft):
    publish_new(kb, make_draft())
    publish_new(kb, make_draft(item_id="guide-test-new", title="测试事项办理指南（新版）"))
    with pytest.raises(LifecycleError, match="reason"):
        kb.service.retire("guide-test-item", AUTHOR, "  ")
    item = kb.service.retire("guide-test-item", AUTHOR, "被新版替代", replaced_by="guide-test-new")
    assert item.status == ItemStatus.RETIRED and item.replaced_by == "guide-test-new"
    assert kb.store.get_version("guide-test-item", 1).state == VersionState.RETIRED
    hits = kb.retriever.search("测试事项办理指南", top_k=20)
    assert "guide-test-item" not in {h.item_id for h in hits}
    assert "guide-test-new" in {h.item_id for h in hits}
    assert kb.writer.verify().ok
    with pytest.raises(LifecycleError, match="already retired"):
        kb.service.retire("guide-test-item", AUTHOR, "again")


def test_content_hash_ignores_owner_and_tags(kb, make_draft):
    a = kb.service.propose(make_draft(), AUTHOR)
    b = kb.service.propose(make_draft().model_copy(update={"tags": ()}), AUTHOR)
    assert a.content_hash == b.content_hash
    assert kb.store.get_version("guide-test-item", 1).state == VersionState.WITHDRAWN


def test_in_force_filter_and_as_of(kb, make_draft):
    publish_new(kb, make_draft(item_id="guide-old-rule", title="旧版补贴办法", effective_from=dt.date(2020, 1, 1),
                               expires_at=dt.date(2023, 1, 1)))
    publish_new(kb, make_draft(item_id="guide-future-rule", title="明年补贴办法",
                               effective_from=dt.date.today() + dt.timedelta(days=30)))
    now = {h.item_id for h in kb.retriever.search("补贴办法", top_k=10)}
    assert "guide-old-rule" not in now and "guide-future-rule" not in now
    then = {h.item_id for h in kb.retriever.search("补贴办法", top_k=10,
                                                   filters=SearchFilters(as_of=dt.date(2022, 6, 1)))}
    assert "guide-old-rule" in then and "guide-future-rule" not in then


def _approve_and_publish(kb, v):
    kb.service.submit(v.item_id, v.number, AUTHOR)
    kb.service.approve(v.item_id, v.number, APPROVER)
    return kb.service.publish(v.item_id, v.number, APPROVER)


def test_tags_can_be_removed_and_stay_removed(kb, make_draft):
    publish_new(kb, make_draft())
    _approve_and_publish(kb, kb.service.set_tags("guide-test-item", AUTHOR, add=["开办"], remove=[]))
    assert {h.item_id for h in kb.retriever.search("测试", filters=SearchFilters(tags=("开办",)))} == {"guide-test-item"}
    _approve_and_publish(kb, kb.service.set_tags("guide-test-item", AUTHOR, remove=["开办"]))
    item = kb.store.get_item("guide-test-item")
    assert "开办" not in item.tag_names and "开办" in item.removed_tags
    assert kb.retriever.search("测试", filters=SearchFilters(tags=("开办",))) == []
    # a later content draft (e.g. a re-ingest carrying the machine tag) does not bring it back
    _approve_and_publish(kb, kb.service.propose(
        make_draft().model_copy(update={"tags": (Tag(tag="开办", source="rule"),)}), AUTHOR))
    assert "开办" not in kb.store.get_item("guide-test-item").tag_names


def test_tag_edit_changes_nothing_live_before_approval(kb, make_draft):
    """A tag edit is a draft: retrieval, the live item and what answers cite stay as they were until a
    second person approves and it is published."""
    publish_new(kb, make_draft())
    before_item = kb.store.get_item("guide-test-item")
    before_hits = [(h.item_id, h.version, h.chunk_id) for h in kb.retriever.search("测试事项", top_k=5)]
    v = kb.service.set_tags("guide-test-item", AUTHOR, add=["开办"])
    assert v.state == VersionState.DRAFT and v.number == 2 and "标签调整" in v.change_note
    assert v.content == kb.store.get_version("guide-test-item", 1).content  # content carried, not emptied
    kb.service.submit(v.item_id, v.number, AUTHOR)
    for _ in range(2):  # saved, then in review: still nothing live
        assert kb.store.get_item("guide-test-item").tags == before_item.tags
        assert kb.store.get_item("guide-test-item").current_version == 1
        assert kb.retriever.search("测试", filters=SearchFilters(tags=("开办",))) == []
        assert [(h.item_id, h.version, h.chunk_id) for h in kb.retriever.search("测试事项", top_k=5)] == before_hits
        with pytest.raises(PermissionDeniedError, match="four-eyes"):
            kb.service.approve(v.item_id, v.number, AUTHOR)
    diff = diff_versions(kb.store.get_version("guide-test-item", 1), kb.store.get_version("guide-test-item", 2))
    assert "tags" in diff.metadata_changed and "开办" in (diff.metadata_changed["tags"][1] or "")
    assert diff.changed_sections == []
    kb.service.approve(v.item_id, v.number, APPROVER)
    kb.service.publish(v.item_id, v.number, APPROVER)
    assert "开办" in kb.store.get_item("guide-test-item").tag_names
    assert {h.item_id for h in kb.retriever.search("测试", filters=SearchFilters(tags=("开办",)))} == {"guide-test-item"}


def test_tag_edit_joins_the_open_draft_and_checks_the_owner(kb, make_draft):
    publish_new(kb, make_draft())
    content_draft = kb.service.propose(make_draft(title="测试事项（修订）"), AUTHOR)
    v = kb.service.set_tags("guide-test-item", AUTHOR, add=["开办"])
    assert v.content == content_draft.content  # the pending edit is carried forward, not lost
    with pytest.raises(PermissionDeniedError, match="谁录入谁负责"):
        kb.service.set_tags("guide-test-item", OTHER_UNIT, add=["x"])
    with pytest.raises(InvalidContentError):
        kb.service.set_tags("guide-test-item", AUTHOR)


def test_version_content_is_immutable(kb, make_draft):
    v = kb.service.propose(make_draft(), AUTHOR)
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError on frozen models
        v.content.sections[0].text = "x"  # type: ignore[misc]
    assert isinstance(v.content, VersionContent) and isinstance(v.content.sections[0], Section)


# -- drafts are drafts: metadata goes live only with its approved, published version (issue #16) ----------------
TWO_UNITS = Actor(id="zhao", units=("sj-scjgj", "sj-rsj"))


def live_meta(kb, item_id="guide-test-item"):
    item = kb.store.get_item(item_id)
    return item.owner, item.level, item.audience, tuple(item.tag_names), item.related


def test_saving_a_draft_changes_no_live_metadata(kb, make_draft):
    publish_new(kb, make_draft().model_copy(update={"tags": (Tag(tag="开办"),), "related": ("faq-a",)}))
    before = live_meta(kb)
    changed = make_draft(audience=(Audience.PERSON,)).model_copy(update={
        "level": Level.TOWN, "tags": (Tag(tag="补贴"),), "related": ("faq-b",), "change_note": "只改属性"})
    v2 = kb.service.propose(changed, AUTHOR)
    kb.service.submit(v2.item_id, v2.number, AUTHOR)
    assert live_meta(kb) == before  # saved and submitted, not approved: nothing live moved
    enterprise = SearchFilters(audience=Audience.ENTERPRISE)
    assert "guide-test-item" in {h.item_id for h in kb.retriever.search("测试事项", filters=enterprise)}
    assert "guide-test-item" not in {h.item_id for h in kb.retriever.search("测试事项", filters=SearchFilters(
        audience=Audience.PERSON))}
    kb.service.approve(v2.item_id, v2.number, APPROVER)
    assert live_meta(kb) == before
    kb.service.publish(v2.item_id, v2.number, APPROVER)
    owner, level, audience, tags, related = live_meta(kb)
    assert (owner, level, audience, related) == ("sj-scjgj", Level.TOWN, (Audience.PERSON,), ("faq-b",))
    assert set(tags) == {"开办", "补贴"}  # a version adds tags; only an owner's explicit removal removes one
    assert "guide-test-item" in {h.item_id for h in kb.retriever.search("测试事项", filters=SearchFilters(
        audience=Audience.PERSON))}
    assert "guide-test-item" not in {h.item_id for h in kb.retriever.search("测试事项", filters=enterprise)}


def test_a_draft_cannot_move_an_item_to_another_unit_unapproved(kb, make_draft):
    publish_new(kb, make_draft())
    v2 = kb.service.propose(make_draft(owner="sj-rsj"), Actor(id="root", admin=True))
    assert v2.meta is not None and v2.meta.owner == "sj-rsj"
    assert kb.store.get_item("guide-test-item").owner == "sj-scjgj"
    with pytest.raises(PermissionDeniedError):  # the target unit gains nothing from an unpublished draft
        kb.service.submit("guide-test-item", 2, Actor(id="rsj-only", units=("sj-rsj",)))
    kb.service.propose(make_draft(owner="sj-rsj"), TWO_UNITS)  # v3, by an owner of both units
    kb.service.submit("guide-test-item", 3, TWO_UNITS)
    assert kb.store.get_item("guide-test-item").owner == "sj-scjgj"
    with pytest.raises(PermissionDeniedError, match="four-eyes"):
        kb.service.approve("guide-test-item", 3, TWO_UNITS)
    with pytest.raises(LifecycleError, match="approved"):
        kb.service.publish("guide-test-item", 3, TWO_UNITS)
    assert kb.store.get_item("guide-test-item").owner == "sj-scjgj"
    kb.service.approve("guide-test-item", 3, APPROVER)  # a second person of the owning unit agrees
    kb.service.publish("guide-test-item", 3, APPROVER)
    assert kb.store.get_item("guide-test-item").owner == "sj-rsj"
    assert kb.store.live_versions()["guide-test-item"].owner == "sj-rsj"


def test_a_withdrawn_drafts_metadata_never_goes_live(kb, make_draft):
    publish_new(kb, make_draft())
    kb.service.propose(make_draft(audience=(Audience.PERSON,)), AUTHOR)  # v2, never submitted
    v3 = publish_new(kb, make_draft(title="测试事项办理指南（修订）"))  # withdraws v2
    assert kb.store.get_version("guide-test-item", 2).state == VersionState.WITHDRAWN
    assert v3.number == 3 and kb.store.get_item("guide-test-item").audience == (Audience.ENTERPRISE,)


def test_the_diff_shows_metadata_changes(kb, make_draft):
    publish_new(kb, make_draft())
    kb.service.propose(make_draft(owner="sj-rsj", audience=(Audience.PERSON, Audience.ENTERPRISE)), TWO_UNITS)
    d = kb.queries.diff("guide-test-item", 1, 2)
    assert d.metadata_changed == {"owner": ("sj-scjgj", "sj-rsj"), "audience": ("法人", "个人、法人")}
    assert d.changed_sections == []  # the content is the same: only the metadata is up for approval


def test_drafting_and_publishing_record_the_metadata_changes(kb, make_draft):
    sink = MemorySink()
    kb.service.events = sink
    publish_new(kb, make_draft())
    publish_new(kb, make_draft(audience=(Audience.PERSON,)))
    drafted = [e for e in sink.events if e[0] == "knowledge.drafted"][-1]
    published = [e for e in sink.events if e[0] == "knowledge.published"][-1]
    assert drafted[3]["metadata_changes"] == {"audience": ["法人", "个人"]}
    assert published[3]["metadata_changes"] == {"audience": ["法人", "个人"]}


# -- editing that protects content: required sections, reject with a reason, withdraw (issue #16) ------------
def test_a_draft_without_a_required_section_cannot_be_submitted(kb, make_draft):
    publish_new(kb, make_draft())
    gutted = kb.service.propose(make_draft(sections={"申请材料": "只剩这一节。"}), AUTHOR)  # saving is allowed
    with pytest.raises(InvalidContentError, match="缺少必填章节：申请条件、办理流程、办理时限、收费标准、设定依据"):
        kb.service.submit(gutted.item_id, gutted.number, AUTHOR)
    with pytest.raises(InvalidContentError, match="缺少必填章节"):  # an admin's waiver submits too: same check
        kb.service.publish_direct(gutted.item_id, gutted.number, Actor(id="root", admin=True))
    assert kb.store.get_version(gutted.item_id, gutted.number).state == VersionState.DRAFT
    assert kb.store.get_item("guide-test-item").current_version == 1
    blank = make_draft(sections={**{s.heading: s.text for s in make_draft().content.sections}, "收费标准": "  "})
    v = kb.service.propose(blank, AUTHOR)
    with pytest.raises(InvalidContentError, match="收费标准"):
        kb.service.submit(v.item_id, v.number, AUTHOR)


def test_a_reviewer_rejects_with_a_reason_and_nothing_goes_live(kb, make_draft):
    sink = MemorySink()
    kb.service.events = sink
    publish_new(kb, make_draft())
    v2 = kb.service.propose(make_draft(audience=(Audience.PERSON,)), AUTHOR)
    kb.service.submit(v2.item_id, v2.number, AUTHOR)
    with pytest.raises(PermissionDeniedError, match="withdraw it instead"):
        kb.service.reject(v2.item_id, v2.number, AUTHOR, "自己退回")
    with pytest.raises(InvalidContentError, match="原因"):
        kb.service.reject(v2.item_id, v2.number, APPROVER, " ")
    done = kb.service.reject(v2.item_id, v2.number, APPROVER, "服务对象改为个人缺少依据")
    assert done.state == VersionState.REJECTED and done.review_note == "服务对象改为个人缺少依据"
    with pytest.raises(LifecycleError):
        kb.service.approve(v2.item_id, v2.number, APPROVER)
    assert kb.store.get_item("guide-test-item").audience == (Audience.ENTERPRISE,)
    assert sink.events[-1][:3] == ("knowledge.rejected", "li", "guide-test-item:2")


def test_the_unit_withdraws_a_version_under_review(kb, make_draft):
    v = kb.service.propose(make_draft(), AUTHOR)
    kb.service.submit(v.item_id, v.number, AUTHOR)
    assert kb.store.get_item(v.item_id).status == ItemStatus.IN_REVIEW
    with pytest.raises(PermissionDeniedError):
        kb.service.withdraw(v.item_id, v.number, OTHER_UNIT)
    done = kb.service.withdraw(v.item_id, v.number, AUTHOR, "还要补充材料")
    assert done.state == VersionState.WITHDRAWN and done.review_note == "还要补充材料"
    assert kb.store.get_item(v.item_id).status == ItemStatus.DRAFT  # never live: back to a draft item
    with pytest.raises(LifecycleError, match="only an unpublished version"):
        kb.service.withdraw(v.item_id, v.number, AUTHOR)


def test_due_lists_live_items_whose_review_or_expiry_is_near_per_owner(kb, make_draft):
    """Grouped by owner unit, soonest first; drafts are not live and so never due."""
    from kb.queries import KnowledgeQueries

    today = dt.date(2026, 12, 5)
    publish_new(kb, make_draft().model_copy(update={"review_due": dt.date(2026, 12, 20)}))
    publish_new(kb, make_draft(item_id="guide-soon-gone", expires_at=dt.date(2026, 12, 1)))
    publish_new(kb, make_draft(item_id="guide-far", expires_at=dt.date(2027, 6, 1)))
    publish_new(kb, make_draft(item_id="guide-mz", owner="sj-mzj").model_copy(
        update={"review_due": dt.date(2026, 12, 6)}), author=OTHER_UNIT, approver=Actor(id="zhao", units=("sj-mzj",)))
    kb.service.propose(make_draft(item_id="guide-draft-only").model_copy(update={"review_due": today}), AUTHOR)
    q = KnowledgeQueries(kb.store)
    due = q.due(30, today=today)
    assert [(d.item_id, d.reason, d.days_left) for d in due] == [
        ("guide-mz", "review_due", 1), ("guide-soon-gone", "expired", -4), ("guide-test-item", "review_due", 15)]
    assert {d.reason_label for d in due} == {"已失效", "复审将到期"}
    assert [d.item_id for d in q.due(30, today=today, owners=("sj-mzj",))] == ["guide-mz"]
    assert [d.item_id for d in q.due(3, today=today)] == ["guide-mz", "guide-soon-gone"]
