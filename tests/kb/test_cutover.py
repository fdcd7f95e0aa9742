"""Publishing is a cut-over. A failure at any step leaves exactly one version answerable."""

import pytest

from kb.errors import IndexDriftError
from kb.index.vector import ChromaVectorIndex
from kb.indexer import IndexWriter
from kb.models import Actor, SearchFilters

pytestmark = pytest.mark.integration
ADMIN = Actor(id="admin", admin=True)


class CrashingIndex:
    """A VectorIndex (our protocol) that dies at a chosen step, standing in for a killed process."""

    def __init__(self, inner: ChromaVectorIndex, fail_on: str) -> None:
        self.inner, self.fail_on = inner, fail_on

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name == self.fail_on:
            def boom(*args, **kwargs):
                raise IndexDriftError(f"simulated crash in {name}")
            return boom
        return attr


def versions_answering(kb, item_id="guide-test-item"):
    kb.retriever.refresh(force=True)
    return {h.version for h in kb.retriever.search("测试事项 办理时限", top_k=30, filters=SearchFilters(item_ids=(item_id,)))}


def two_versions(kb, make_draft):
    kb.service.four_eyes = False
    v1 = kb.service.propose(make_draft(), ADMIN)
    kb.service.publish(v1.item_id, 1, ADMIN)
    changed = make_draft(sections={"申请条件": "新条件。", "申请材料": "新材料。", "办理流程": "新流程。",
                                   "办理时限": "承诺时限2个工作日。", "收费标准": "不收费。", "设定依据": "新依据。"})
    return kb.service.propose(changed, ADMIN)


@pytest.mark.parametrize("fail_on", ["upsert_many", "vectors"])
def test_crash_before_switch_keeps_old_version(kb, make_draft, fail_on):
    v2 = two_versions(kb, make_draft)
    kb.writer.vectors = CrashingIndex(kb.vectors, fail_on)
    with pytest.raises(IndexDriftError):
        kb.service.publish(v2.item_id, v2.number, ADMIN)
    kb.writer.vectors = kb.vectors
    assert kb.store.get_item(v2.item_id).current_version == 1
    assert versions_answering(kb) == {1}
    assert kb.writer.repair().ok and versions_answering(kb) == {1}


@pytest.mark.parametrize("fail_on", ["ids_for_items", "delete"])
def test_crash_after_switch_answers_new_version_only(kb, make_draft, fail_on):
    v2 = two_versions(kb, make_draft)
    kb.writer.vectors = CrashingIndex(kb.vectors, fail_on)
    with pytest.raises(IndexDriftError):
        kb.service.publish(v2.item_id, v2.number, ADMIN)
    kb.writer.vectors = kb.vectors
    assert kb.store.get_item(v2.item_id).current_version == 2
    assert versions_answering(kb) == {2}  # old chunks may linger but are never answered
    drift = kb.writer.verify()
    assert not drift.ok and all(cid.startswith("guide-test-item:1:") for cid in drift.orphaned_in_vectors)
    assert kb.writer.repair().ok and versions_answering(kb) == {2}


def test_rebuild_from_sql_restores_a_wiped_vector_index(kb, make_draft):
    v2 = two_versions(kb, make_draft)
    kb.service.publish(v2.item_id, v2.number, ADMIN)
    kb.vectors.reset()
    assert not kb.writer.verify().ok
    assert versions_answering(kb) == {2}  # dense side empty; the BM25 snapshot comes from SQL
    report = IndexWriter(kb.store, kb.vectors, kb.embedder).rebuild()
    assert report.ok and report.live_items == 1
    assert versions_answering(kb) == {2}
