"""Bounded schemathesis run over the OpenAPI schema: whatever the input, no 5xx (about 100 calls, < 60 s)."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from api.app import create_app
from tests.api.conftest import auth

schemathesis = pytest.importorskip("schemathesis")
pytestmark = pytest.mark.integration
TOTAL_EXAMPLES = 120
BUDGET_S = 60


def test_no_server_errors_under_fuzzing(api_container, tokens):
    app = create_app(api_container)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 20
    per_op = max(2, TOTAL_EXAMPLES // len(operations))
    failures: list[str] = []
    calls: list[int] = []
    started = time.monotonic()
    current: dict[str, dict[str, str]] = {}
    for n, op in enumerate(operations):
        current["headers"] = auth(tokens["admin"] if n % 2 else tokens["reviewer"])

        @settings(max_examples=per_op, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy())
        def run(case) -> None:
            resp = case.call(headers=current["headers"])
            calls.append(resp.status_code)
            if resp.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {resp.status_code}: {resp.text[:200]}")

        run()
        assert time.monotonic() - started < BUDGET_S, f"fuzzing exceeded {BUDGET_S} s at {op.label}"
    assert not failures, "\n".join(failures)
    assert len(calls) >= len(operations), calls
    print(f"schemathesis: {len(calls)} calls over {len(operations)} operations in {time.monotonic() - started:.1f} s; "
          f"status codes {sorted(set(calls))}")
