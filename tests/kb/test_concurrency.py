"""Concurrent writers on both backends. Each 'process' is a KnowledgeBase with its own engine, Chroma client
and retrieval snapshot over the same stores, as API workers have: two owners publishing at once, and a
retirement racing searches. No lost publish, no lost generation bump, no retired item after the retire."""

from __future__ import annotations

import threading

import pytest

from api import db
from api.settings import Settings
from kb.embedders import HashEmbedder
from kb.models import Actor, ItemStatus
from kb.runtime import KnowledgeBase, load_units
from tests.conftest import SAMPLES

pytestmark = pytest.mark.integration
OWNER_A = (Actor(id="zhang", units=("sj-scjgj",)), Actor(id="li", units=("sj-scjgj",)))
OWNER_B = (Actor(id="zhou", units=("sj-mzj",)), Actor(id="wu", units=("sj-mzj",)))


def worker(settings: Settings) -> KnowledgeBase:
    kb = KnowledgeBase.build(settings, embedder=HashEmbedder(), migrate=db.upgrade)
    kb.vectors.warm_up()  # connect before the threads start (embedded Chroma shares one client per path)
    return kb


def approved(kb: KnowledgeBase, draft, owners: tuple[Actor, Actor]) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    author, approver = owners
    v = kb.service.propose(draft, author)
    kb.service.submit(v.item_id, v.number, author)
    kb.service.approve(v.item_id, v.number, approver)
    return v.item_id, v.number


def test_two_owners_publishing_at_once_both_land(settings: Settings, make_draft) -> None:  # type: ignore[no-untyped-def]
    w1, w2, reader = worker(settings), worker(settings), worker(settings)
    w1.store.upsert_units(load_units(SAMPLES / "kb" / "units.yaml"))
    reader.retriever.refresh()
    gen0 = reader.store.generation()
    jobs = []
    for k in range(3):
        jobs.append((w1, approved(w1, make_draft(item_id=f"guide-a-{k}", title=f"甲单位事项{k}"), OWNER_A), OWNER_A[1]))
        jobs.append((w2, approved(w2, make_draft(item_id=f"guide-b-{k}", owner="sj-mzj", title=f"乙单位事项{k}"),
                                  OWNER_B), OWNER_B[1]))
    gate = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(mine: list) -> None:  # type: ignore[type-arg]
        gate.wait()
        try:
            for kb, (item_id, number), approver in mine:
                kb.service.publish(item_id, number, approver)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(jobs[i::2],)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert reader.store.generation() == gen0 + 6  # every publish bumped it; none was lost to a race
    live = reader.retriever.live()  # the reader's snapshot was taken before; it must notice on its own
    assert {f"guide-{u}-{k}" for u in "ab" for k in range(3)} <= set(live)
    assert reader.writer.verify().ok  # SQL chunks and vector ids agree after the interleaved cut-overs


def test_retire_racing_searches_never_serves_it_afterwards(settings: Settings, make_draft) -> None:  # type: ignore[no-untyped-def]
    w1, w2 = worker(settings), worker(settings)
    w1.store.upsert_units(load_units(SAMPLES / "kb" / "units.yaml"))
    for k in range(4):
        item_id, number = approved(w1, make_draft(item_id=f"guide-race-{k}", title=f"竞争测试事项{k}"), OWNER_A)
        w1.service.publish(item_id, number, OWNER_A[1])
    assert "guide-race-0" in {h.item_id for h in w2.retriever.search("竞争测试事项0 办理时限", top_k=10)}
    stop = threading.Event()
    errors: list[BaseException] = []
    searches = [0]

    def search_loop() -> None:
        try:
            while not stop.is_set():
                w2.retriever.search("竞争测试事项0 办理时限", top_k=10)
                searches[0] += 1
        except BaseException as exc:  # a search must never fail because of a concurrent retire
            errors.append(exc)

    t = threading.Thread(target=search_loop)
    t.start()
    try:
        w1.service.retire("guide-race-0", OWNER_A[0], "竞争测试：已废止")
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors
    assert searches[0] > 0
    assert w2.store.get_item("guide-race-0").status == ItemStatus.RETIRED
    for _ in range(3):  # every search after the retire committed, in the other process
        assert "guide-race-0" not in {h.item_id for h in w2.retriever.search("竞争测试事项0 办理时限", top_k=10)}
