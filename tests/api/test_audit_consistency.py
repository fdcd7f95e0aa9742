"""GET /api/v1/audit/consistency: an auditor checks the proof against a checkpoint kept from earlier; the
operator's own roles (admin, reviewer) and citizens may not call it."""

from __future__ import annotations

import pytest

from guardrails import merkle
from tests.api.conftest import auth
from tests.api.test_api import assert_envelope

pytestmark = pytest.mark.integration


def test_auditor_proves_the_log_extends_a_kept_checkpoint(client, tokens, api_container):
    log = api_container.guardrails.audit
    kept = log.checkpoint()  # what the auditor took home earlier
    for i in range(5):
        log.append("test.consistency", "auditor-test", f"c-{i}", {"i": i})

    resp = client.get("/api/v1/audit/consistency", params={"first": kept.tree_size}, headers=auth(tokens["auditor"]))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"first", "second", "first_root", "second_root", "proof"}
    assert body["first"] == kept.tree_size and body["second"] >= kept.tree_size + 5
    assert body["first_root"] == kept.root
    proof = [bytes.fromhex(p) for p in body["proof"]]
    assert merkle.verify_consistency(body["first"], body["second"], bytes.fromhex(kept.root),
                                     bytes.fromhex(body["second_root"]), proof)
    assert not merkle.verify_consistency(body["first"], body["second"], bytes.fromhex("ab" * 32),
                                         bytes.fromhex(body["second_root"]), proof)

    too_far = client.get("/api/v1/audit/consistency", params={"first": body["second"] + 10**6},
                         headers=auth(tokens["auditor"]))
    assert "cannot prove sizes" in assert_envelope(too_far, 422, "invalid_input")["error"]["message"]
    for role in ("admin", "reviewer", "owner", "citizen"):
        assert_envelope(client.get("/api/v1/audit/consistency", params={"first": 1}, headers=auth(tokens[role])),
                        403, "forbidden")
    assert_envelope(client.get("/api/v1/audit/consistency", params={"first": 1}), 401, "unauthorized")
