"""Run by test_crash_recovery in a subprocess: publish new versions of a few guides forever, until killed."""

from __future__ import annotations

import sys
from pathlib import Path

from api import db
from api.settings import Settings
from ingest.pipeline import run_ingest
from kb.embedders import HashEmbedder
from kb.models import Actor
from kb.runtime import KnowledgeBase
from tests.ingest.sources import SAMPLES, write_guide

SYSTEM = Actor(id="system", admin=True)  # not api.container's: the worker starts 20 times, keep imports light


def main(home: str, src: str, start: int) -> None:
    settings = Settings(home=Path(home), embedder="hash", database_url=None, chroma_url=None, samples_dir=SAMPLES,
                        environment="test")  # as tests.conftest.make_settings, without its imports
    kb = KnowledgeBase.build(settings, embedder=HashEmbedder(), migrate=db.upgrade)
    kb.warm_up()
    print("ready", flush=True)
    n = start
    while True:
        n += 1
        for k in range(3):
            write_guide(Path(src), f"guide-crash-{k}", f"崩溃测试事项{k}", days=n)
        run_ingest(Path(src), kb, SYSTEM, publish=True)
        print(n, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
