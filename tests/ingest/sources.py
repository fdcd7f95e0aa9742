"""Writing small guide sources for tests; light imports only (the crash-test worker starts 20 times)."""

from __future__ import annotations

import shutil
from pathlib import Path

from kb.settings import PROJECT_ROOT

SAMPLES = PROJECT_ROOT / "samples"

GUIDE = """---
id: {id}
kind: guide
title: {title}
owner: sj-scjgj
audience: 法人
tags: [开办]
effective_from: 2024-01-01
sample: true
---
# {title}

## 申请条件
经营者应当具有经营能力。

## 申请材料
1. 申请书原件1份。
2. 身份证明。

## 办理流程
网上申请，窗口受理。

## 办理时限
{days}个工作日。

## 收费标准
不收费。

## 设定依据
《测试条例》第三条。
"""


def write_guide(folder: Path, item_id: str = "guide-demo", title: str = "示范登记", days: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{item_id}.md"
    path.write_text(GUIDE.format(id=item_id, title=title, days=days), encoding="utf-8")
    shutil.copy(SAMPLES / "kb" / "units.yaml", folder / "units.yaml")
    return path
