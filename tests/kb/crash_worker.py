"""Run by test_crash_recovery in a subprocess: publish new versions of a few guides forever, until killed."""

from __future__ import annotations

import sys
from pathlib import Path

from api.container import SYSTEM
from ingest.pipeline import run_ingest
from kb.embedders import HashEmbedder
from kb.runtime import KnowledgeBase
from tests.conftest import make_settings
from tests.ingest.test_ingest import write_guide


def main(home: str, src: str, start: int) -> None:
    kb = KnowledgeBase.build(make_settings(Path(home)), embedder=HashEmbedder())
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
