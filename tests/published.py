"""Helpers shared by the policy / 好差评 tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from kb.lifecycle import ItemDraft
from kb.models import Actor
from kb.runtime import KnowledgeBase

GUIDE = "guide-test-item"  # owned by sj-scjgj
POLICY = "policy-test-rent"  # owned by sj-rsj


class Clock:
    """A settable clock for services that take `clock: Callable[[], datetime]`."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def publish_v2(kb: KnowledgeBase, admin: Actor, make_draft: Callable[..., ItemDraft], item_id: str = GUIDE,
               owner: str = "sj-scjgj") -> int:
    """Publish a corrected version of an item; returns its number."""
    sections = {"申请条件": "更新后的条件。", "申请材料": "身份证明。", "办理流程": "网上申请。",
                "办理时限": "1个工作日。", "收费标准": "不收费。", "设定依据": "《测试条例》。"}
    v = kb.service.propose(make_draft(item_id=item_id, owner=owner, sections=sections), admin)
    kb.service.publish_direct(item_id, v.number, admin)
    return v.number
