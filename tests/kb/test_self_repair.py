"""Self-repair (issue #17): verify reads vectors back, repair re-upserts what the vector store cannot return or
holds wrongly, an interrupted publish is rolled back or forward, and `serve` repairs (bounded) at start.
Real SQLite and real Chroma; damage is done through the Chroma client or our own VectorIndex seam."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from api.container import RUNNING_MARKER, build_container
from kb.errors import IndexDriftError
from kb.index.vector import ChromaVectorIndex
from kb.models import Actor, SearchFilters
from kb.runtime import load_units
from tests.conftest import SAMPLES, make_settings
from tests.kb.test_cutover import CrashingIndex, two_versions, versions_answering

pytestmark = pytest.mark.integration
ADMIN = Actor(id="admin", admin=True)


class LostIds:
    """A VectorIndex (our protocol) whose store lists some ids but fails to return them, as embedded Chroma did
    once after a SIGKILL ("Error finding id"): any read that includes one of them raises."""

    def __init__(self, inner: ChromaVectorIndex, lost: set[str]) -> None:
        self.inner, self.lost = inner, set(lost)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        if self.lost & set(ids):
            raise RuntimeError("Error finding id")
        return self.inner.vectors(ids)

    def delete(self, ids: list[str]) -> None:
        self.lost -= set(ids)
        self.inner.delete(ids)


def published(kb, make_draft, *item_ids: str) -> list[str]:
    kb.service.four_eyes = False
    for item_id in item_ids:
        kb.service.publish(item_id, kb.service.propose(make_draft(item_id=item_id), ADMIN).number, ADMIN)
    return sorted(c.id for c in kb.store.all_chunks())


def test_read_back_catches_a_wrong_vector_that_ids_alone_miss(kb, make_draft):
    ids = published(kb, make_draft, "guide-test-item")
    kb.vectors.col.upsert(ids=[ids[0]], embeddings=[np.full(kb.embedder.dim, 1 / np.sqrt(kb.embedder.dim), np.float32)])
    assert kb.writer.verify().ok  # every id is there
    drift = kb.writer.verify(read_back=True)
    assert not drift.ok and drift.wrong_vectors == [ids[0]] and drift.read_back == len(ids)
    fixed = kb.writer.repair(read_back=True)
    assert fixed.ok and fixed.rewritten == ["guide-test-item"]
    want = kb.store.cached_embeddings(kb.embedder.name, [c.text_hash for c in kb.store.all_chunks() if c.id == ids[0]])
    assert np.allclose(kb.vectors.vectors([ids[0]])[ids[0]], next(iter(want.values())), atol=1e-5)


def test_ids_deleted_from_the_collection_are_re_upserted(kb, make_draft):
    ids = published(kb, make_draft, "guide-test-item")
    kb.vectors.col.delete(ids=ids[:2])  # through the Chroma client, as a lost write would leave it
    drift = kb.writer.verify(read_back=True)
    assert drift.missing_in_vectors == ids[:2]
    assert kb.writer.repair(read_back=True).ok and set(kb.vectors.vectors(ids)) == set(ids)
    assert versions_answering(kb) == {1}


def test_ids_the_store_lists_but_cannot_return_are_found_one_by_one_and_re_upserted(kb, make_draft):
    ids = published(kb, make_draft, "guide-test-item", "guide-other-item")
    lost = {ids[1], ids[-1]}
    kb.writer.vectors = LostIds(kb.vectors, lost)
    drift = kb.writer.verify(read_back=True)
    assert sorted(drift.unreadable_vectors) == sorted(lost) and drift.read_back == len(ids) - 2
    fixed = kb.writer.repair(read_back=True)
    assert fixed.ok and fixed.rewritten == ["guide-other-item", "guide-test-item"]


def test_a_bounded_repair_lists_what_it_left_for_the_next_run(kb, make_draft):
    ids = published(kb, make_draft, "guide-test-item", "guide-other-item")
    kb.vectors.col.delete(ids=[ids[0], ids[-1]])
    first = kb.writer.repair(max_items=1)
    assert first.rewritten == ["guide-other-item"] and first.left_over == ["guide-test-item"] and not first.ok
    second = kb.writer.repair(max_items=1)
    assert second.ok and second.rewritten == ["guide-test-item"] and not second.left_over


def test_a_publish_interrupted_before_the_switch_is_rolled_back(kb, make_draft):
    v2 = two_versions(kb, make_draft)
    kb.writer.vectors = CrashingIndex(kb.vectors, "vectors")  # dies verifying the new chunks: never switched
    with pytest.raises(IndexDriftError):
        kb.service.publish(v2.item_id, v2.number, ADMIN)
    kb.writer.vectors = kb.vectors
    report = kb.writer.repair(read_back=True)
    assert report.ok and report.rolled_back == ["guide-test-item:2"] and not report.rolled_forward
    assert all(cid.startswith("guide-test-item:2:") for cid in report.removed) and report.removed
    assert versions_answering(kb) == {1} and kb.store.get_item(v2.item_id).current_version == 1
    assert kb.store.get_version(v2.item_id, 2).state.value != "published"  # as it was before the publish
    kb.service.publish(v2.item_id, 2, ADMIN)  # the rolled-back version can simply be published again
    assert versions_answering(kb) == {2} and kb.writer.verify(read_back=True).ok


def test_a_publish_interrupted_after_the_switch_is_rolled_forward(kb, make_draft):
    v2 = two_versions(kb, make_draft)
    kb.writer.vectors = CrashingIndex(kb.vectors, "delete")  # switched, dies deleting the old chunks
    with pytest.raises(IndexDriftError):
        kb.service.publish(v2.item_id, v2.number, ADMIN)
    kb.writer.vectors = kb.vectors
    report = kb.writer.repair(read_back=True)
    assert report.ok and report.rolled_forward == ["guide-test-item:1"] and not report.rolled_back
    assert versions_answering(kb) == {2}


def test_serve_repairs_at_start_and_reads_back_after_an_unclean_shutdown(tmp_path: Path, make_draft):
    c = build_container(make_settings(tmp_path / "home"))
    c.kb.store.upsert_units(load_units(SAMPLES / "kb" / "units.yaml"))
    ids = published(c.kb, make_draft, "guide-test-item")
    c.kb.vectors.col.upsert(ids=[ids[0]], embeddings=[np.full(c.kb.embedder.dim, 0.0625, np.float32)])
    with c.serving() as clean:  # a clean start checks ids only (cheap at any size)
        assert (tmp_path / "home" / RUNNING_MARKER).exists()
        assert clean.ok and clean.read_back == 0
    assert not (tmp_path / "home" / RUNNING_MARKER).exists()

    c.kb.vectors.col.delete(ids=[ids[1]])
    (tmp_path / "home" / RUNNING_MARKER).write_text("12345\n")  # the previous server was killed (kill -9)
    with c.serving() as after_crash:
        assert after_crash.ok and after_crash.rewritten == ["guide-test-item"] and after_crash.read_back == len(ids)
    assert c.kb.writer.verify(read_back=True).ok
    hits = c.kb.retriever.search("测试事项 办理时限", top_k=5, filters=SearchFilters(item_ids=("guide-test-item",)))
    assert hits and {h.version for h in hits} == {1}
