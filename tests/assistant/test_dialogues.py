"""Every YAML dialogue scenario in eval/datasets/dialogues, end to end with the real embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.engine import Assistant
from eval.dialogues import SCENARIOS, load_scenarios, run_scenario

pytestmark = pytest.mark.e2e
CASES = load_scenarios(SCENARIOS)


def test_there_are_enough_scenarios() -> None:
    assert len(CASES) >= 150
    assert any("开店一件事" in d["name"] and d.get("profile") == "c-test-zhangsan" for _, d in CASES)


@pytest.mark.parametrize(("path", "data"), CASES, ids=[p.stem for p, _ in CASES])
def test_scenario(real_assistant: Assistant, path: Path, data: dict) -> None:
    result = run_scenario(real_assistant, path, data)
    assert result.passed, "\n".join(result.failures)
