"""Fixtures of the policy / 好差评 tests: a small published KB with items of two owner units."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kb.lifecycle import ItemDraft
from kb.models import Actor
from kb.runtime import KnowledgeBase
from tests.policy.support import POLICY


@pytest.fixture
def loaded_kb(kb: KnowledgeBase, admin: Actor, make_draft: Callable[..., ItemDraft]) -> KnowledgeBase:
    """GUIDE (sj-scjgj) and POLICY (sj-rsj), each with a published v1."""
    kb.service.publish_direct(kb.service.propose(make_draft(), admin).item_id, 1, admin)
    draft = make_draft(item_id=POLICY, owner="sj-rsj", title="测试租房补贴")
    kb.service.publish_direct(kb.service.propose(draft, admin).item_id, 1, admin)
    return kb
