"""Assistant sessions on both storage backends (SQLite file, PostgreSQL): a conversation continues on another
worker, concurrent messages to one session never lose or duplicate a turn, and the audit log stays valid.

Each "worker" is an Assistant with its own engine and store over the same database, as API worker
processes have; the sample knowledge base is the shared read-only one (the kb suite covers it per backend).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.engine import Assistant
from assistant.errors import SessionBusyError
from assistant.models import Outcome
from assistant.store import AssistantStore
from kb.store import create_engine
from tests.assistant.conftest import make_assistant
from tests.assistant.test_engine import SHOP_TO_CONFIRM, say
from tests.backends import Backend

pytestmark = pytest.mark.integration


@pytest.fixture
def worker1(sample_container: object, backend: Backend, tmp_path: Path) -> Assistant:
    url = backend.url_for(tmp_path)
    return make_assistant(sample_container, tmp_path, engine=create_engine(url))


def another_worker(a: Assistant) -> Assistant:
    """A second process's assistant: a new engine (connection pool) and store over the same database."""
    url = a.deps.store.engine.url.render_as_string(hide_password=False)
    return Assistant(replace(a.deps, store=AssistantStore(create_engine(url))))


def test_conversation_continues_on_another_worker_to_submission(worker1: Assistant) -> None:
    first = say(worker1, SHOP_TO_CONFIRM[:5], profile="c-test-zhangsan")
    sid = first[-1].session_id
    worker2 = another_worker(worker1)
    rest = say(worker2, SHOP_TO_CONFIRM[5:] + ["确认提交"], profile="c-test-zhangsan", session=sid)
    assert [r.outcome for r in rest][-2:] == [Outcome.AWAITING_CONFIRMATION, Outcome.SUBMITTED]
    assert [h["idx"] for h in worker1.history(sid)] == list(range(1, 11))  # worker 1 sees worker 2's turns
    assert worker1.session(sid).phase == worker2.session(sid).phase
    report = worker1.deps.audit.verify()  # type: ignore[attr-defined]
    assert report.ok and report.tree_size >= 10


def test_simultaneous_messages_to_one_session_lose_nothing(worker1: Assistant) -> None:
    """Eight messages at once to one session from two workers (four threads each): every message either gets
    its turn or a clean 'session busy' (nothing persisted), turns are numbered 1..n without gaps or doubles,
    and each persisted turn is audited exactly once."""
    [start] = say(worker1, ["我想在松江开一家小饭馆"], profile="c-test-zhangsan")
    sid = start.session_id
    workers = [worker1, another_worker(worker1)]
    done: list[str] = []
    busy: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    gate = threading.Barrier(8)

    def send(w: Assistant, k: int) -> None:
        gate.wait()
        try:
            r = w.turn(f"需要带什么材料？{k}", session_id=sid, profile_id="c-test-zhangsan",
                       principal_id="c-test-zhangsan")
            with lock:
                done.append(r.turn_id)
        except SessionBusyError:
            with lock:
                busy.append(str(k))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(workers[k % 2], k)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(done) + len(busy) == 8 and len(done) >= 2
    history = worker1.history(sid)
    assert [h["idx"] for h in history] == list(range(1, len(done) + 2))
    assert {h["id"] for h in history[1:]} == set(done)
    audited = [e.subject for e in worker1.deps.audit.events(event="turn.finalised")]  # type: ignore[attr-defined]
    assert sorted(s for s in audited if s in set(done)) == sorted(done)
    assert worker1.deps.audit.verify().ok  # type: ignore[attr-defined]


def test_threads_of_one_worker_never_clash(worker1: Assistant) -> None:
    """Within one process the session lock queues messages: all of them are answered, in some order."""
    [start] = say(worker1, ["居住证续签"], profile="c-test-wujiu")
    sid = start.session_id
    results: list[int] = []
    errors: list[BaseException] = []

    def send(k: int) -> None:
        try:
            results.append(worker1.turn(f"办理时限是多久？{k}", session_id=sid).turn_index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(results) == [2, 3, 4, 5, 6]
