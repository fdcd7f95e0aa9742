"""Kill an ingest/publish subprocess at random points; each item must stay answerable in exactly one version."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from api import db
from kb.embedders import HashEmbedder
from kb.models import SearchFilters
from kb.runtime import KnowledgeBase
from kb.settings import PROJECT_ROOT
from tests.conftest import make_settings

pytestmark = [pytest.mark.slow, pytest.mark.integration]
RUNS = 20  # the brief asks for at least 20 kills


def answerable_versions(kb: KnowledgeBase, item_id: str) -> set[int]:
    hits = kb.retriever.search("崩溃测试事项 工作日", top_k=50, filters=SearchFilters(item_ids=(item_id,)))
    return {h.version for h in hits}


def test_random_kills_leave_exactly_one_answerable_version(tmp_path):
    home, src = tmp_path / "home", tmp_path / "src"
    rng = random.Random(20261127)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    drift_seen = 0
    for run in range(RUNS):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.kb.crash_worker", str(home), str(src), str(run * 1000)],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        if run == 0:  # the first run publishes once before it is killed; later runs die anywhere in the loop
            assert proc.stdout.readline().strip()
        time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        kb = KnowledgeBase.build(make_settings(home), embedder=HashEmbedder(), migrate=db.upgrade)
        live = kb.store.live_versions()
        for k in range(3):
            item_id = f"guide-crash-{k}"
            if item_id not in live:
                assert run == 0, f"run {run}: {item_id} lost its live version"
                continue
            # before any repair: exactly the live version answers, never both, never neither
            assert answerable_versions(kb, item_id) == {live[item_id].version}, f"run {run}, {item_id}"
        report = kb.writer.verify()
        drift_seen += not report.ok
        assert kb.writer.repair().ok, f"run {run}: drift remains after repair"
        for item_id, lv in kb.store.live_versions().items():
            assert answerable_versions(kb, item_id) == {lv.version}
    assert len(KnowledgeBase.build(make_settings(home), embedder=HashEmbedder(), migrate=db.upgrade).store.live_versions()) == 3
    print(f"{RUNS} kills, drift found and repaired after {drift_seen}")
