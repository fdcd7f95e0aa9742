"""HTTP hardening (#16): unpublished drafts are private, out-of-range integers are 422, accounts name real units
and profiles, the last admin stays, security headers everywhere, Chinese error pages for browsers, /docs offline,
the JSONL audit export; and a saved draft changes no live metadata through the API either."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import auth
from tests.api.test_api import assert_envelope

pytestmark = pytest.mark.integration
DRAFT = {"id": "guide-hardening-secret", "kind": "guide", "owner": "sj-scjgj", "level": "区", "audience": ["法人"],
         "title": "未发布的内部草稿标题", "sections": [{"heading": "申请材料", "text": "申请书1份。"}],
         "effective_from": "2024-01-01", "change_note": "draft only"}
HUGE = "9223372036854775808"


@pytest.fixture(scope="module")
def secret_draft(client, tokens):
    r = client.post("/api/v1/knowledge/drafts", json=DRAFT, headers=auth(tokens["owner"]))
    assert r.status_code == 201, r.text
    return DRAFT["id"]


def test_anonymous_and_citizens_never_see_unpublished_drafts(client, tokens, secret_draft):
    for headers in ({}, auth(tokens["citizen"])):
        listed = client.get("/api/v1/knowledge/items", params={"limit": 200, "status": "draft"}, headers=headers).json()
        assert secret_draft not in {i["id"] for i in listed["items"]}
        every = client.get("/api/v1/knowledge/items", params={"limit": 200}, headers=headers).text
        assert DRAFT["title"] not in every
        assert_envelope(client.get(f"/api/v1/knowledge/items/{secret_draft}", headers=headers), 404)
        assert_envelope(client.get(f"/api/v1/knowledge/items/{secret_draft}/versions", headers=headers), 404)
        assert_envelope(client.get(f"/api/v1/knowledge/items/{secret_draft}/versions/1", headers=headers), 404)
    for role in ("owner", "reviewer", "auditor", "admin"):
        got = client.get(f"/api/v1/knowledge/items/{secret_draft}/versions/1", headers=auth(tokens[role]))
        assert got.status_code == 200 and got.json()["content"]["title"] == DRAFT["title"], role


def test_a_pending_draft_of_a_published_item_stays_hidden(client, tokens):
    owner = auth(tokens["owner"])
    live = client.get("/api/v1/knowledge/items/guide-individual-business-reg").json()
    current = live["current_version"]
    v = client.post("/api/v1/knowledge/drafts", headers=owner, json=DRAFT | {
        "id": "guide-individual-business-reg", "title": live["title"], "audience": ["个人"],
        "sections": [{"heading": "内部备注", "text": "尚未公开的修改。"}]}).json()
    anon = client.get("/api/v1/knowledge/items/guide-individual-business-reg").json()
    assert anon["latest_version"] == current  # the existence of a newer draft is not revealed
    numbers = [x["number"] for x in client.get("/api/v1/knowledge/items/guide-individual-business-reg/versions",
                                               params={"limit": 200}).json()["items"]]
    assert v["number"] not in numbers and current in numbers
    assert_envelope(client.get("/api/v1/knowledge/items/guide-individual-business-reg/diff",
                               params={"left": current, "right": v["number"]}), 404)
    # the saved draft moved no live metadata; the diff shows the change to the owner
    assert client.get("/api/v1/knowledge/items/guide-individual-business-reg").json()["audience"] == live["audience"]
    d = client.get("/api/v1/knowledge/items/guide-individual-business-reg/diff",
                   params={"left": current, "right": v["number"]}, headers=owner).json()
    assert d["metadata_changed"]["audience"] == ["、".join(live["audience"]), "个人"]
    mine = client.get(f"/api/v1/knowledge/items/guide-individual-business-reg/versions/{v['number']}", headers=owner)
    assert mine.json()["meta"]["audience"] == ["个人"]


@pytest.mark.parametrize("path", [
    f"/api/v1/knowledge/items/guide-individual-business-reg/versions/{HUGE}",
    "/api/v1/knowledge/items/guide-individual-business-reg/versions/-1",
    f"/api/v1/knowledge/items/guide-individual-business-reg/diff?left=1&right={HUGE}",
    f"/api/v1/audit/receipts/{HUGE}",
])
def test_out_of_range_integers_are_422_not_500(client, tokens, path):
    assert_envelope(client.get(path, headers=auth(tokens["admin"])), 422, "invalid_request")


def test_out_of_range_integers_in_actions_and_bodies_are_422(client, tokens):
    admin = auth(tokens["admin"])
    assert_envelope(client.post(f"/api/v1/knowledge/items/guide-individual-business-reg/versions/{HUGE}/submit",
                                json={}, headers=admin), 422)
    assert_envelope(client.post("/api/v1/tickets/t-none/resolve", json={"item_id": "x", "version": int(HUGE)},
                                headers=admin), 422)


def test_accounts_name_known_units_and_profiles(client, tokens):
    admin = auth(tokens["admin"])
    body = assert_envelope(client.post("/api/v1/accounts", headers=admin,
                                       json={"name": "typo-owner", "role": "owner", "units": ["sj-nowhere"]}), 422)
    assert "单位 'sj-nowhere' 不存在" in body["error"]["message"]
    body = assert_envelope(client.post("/api/v1/accounts", headers=admin,
                                       json={"name": "typo-citizen", "role": "citizen", "profile_id": "c-nobody"}), 422)
    assert "档案 'c-nobody' 不存在" in body["error"]["message"]
    ok = client.post("/api/v1/accounts", headers=admin, json={"name": "real-owner", "role": "owner", "units": ["sj-mzj"]})
    assert ok.status_code == 201, ok.text


def test_the_last_admin_cannot_be_revoked(client, tokens):
    admin = auth(tokens["admin"])
    me = client.get("/api/v1/me", headers=admin).json()
    body = assert_envelope(client.post(f"/api/v1/accounts/{me['account_id']}/revoke", headers=admin), 409)
    assert "最后一个管理员" in body["error"]["message"]
    assert client.get("/api/v1/me", headers=admin).status_code == 200
    second = client.post("/api/v1/accounts", headers=admin, json={"name": "second-admin", "role": "admin"}).json()
    done = client.post(f"/api/v1/accounts/{second['account']['id']}/revoke", headers=admin)
    assert done.status_code == 200 and done.json()["active"] is False


@pytest.mark.parametrize("path", ["/", "/owner", "/review", "/audit", "/me", "/docs", "/api/v1/health", "/nope",
                                  "/static/app.js"])
def test_security_headers_on_every_response(client, path):
    r = client.get(path, headers={"Accept": "text/html"})
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"


def test_pages_carry_no_inline_script_or_style(client):
    for path in ("/", "/owner", "/review", "/audit", "/me", "/docs", "/k/x/1", "/nope"):
        html = client.get(path, headers={"Accept": "text/html"}).text
        assert "<script>" not in html and " style=" not in html and "<style" not in html, path
        assert "onclick=" not in html, path


def test_browsers_get_a_chinese_404_page_and_api_clients_json(client):
    page = client.get("/no/such/page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "找不到这个页面" in page.text and "not_found" not in page.text
    assert_envelope(client.get("/no/such/page"), 404, "not_found")
    assert_envelope(client.get("/api/v1/no-such-route", headers={"Accept": "text/html"}), 404, "not_found")


def test_docs_work_offline_from_local_assets(client):
    html = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in html and "http" not in html.replace('"/static', "")
    for asset in ("/static/swagger/swagger-ui-bundle.js", "/static/swagger/swagger-ui.css", "/static/docs.js"):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")
    assert client.get("/redoc").status_code == 404  # ReDoc loads from a CDN only: off


def test_audit_export_is_json_lines(client, tokens):
    r = client.get("/api/v1/audit/export", params={"fmt": "jsonl"}, headers=auth(tokens["auditor"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = r.text.strip().split("\n")
    assert len(lines) > 1 and all(isinstance(json.loads(line), dict) for line in lines)


def test_reject_with_a_reason_and_withdraw_over_http(client, tokens):
    owner, admin = auth(tokens["owner"]), auth(tokens["admin"])
    sections = [{"heading": h, "text": f"{h}：内容。"} for h in ("申请条件", "申请材料", "办理流程", "办理时限",
                                                              "收费标准", "设定依据")]
    body = DRAFT | {"id": "guide-hardening-reject", "title": "退回测试指南", "sections": sections}
    gutted = client.post("/api/v1/knowledge/drafts", headers=owner, json=body | {"sections": sections[1:2]}).json()
    base = f"/api/v1/knowledge/items/guide-hardening-reject/versions/{gutted['number']}"
    msg = assert_envelope(client.post(f"{base}/submit", json={}, headers=owner), 422)["error"]["message"]
    assert msg.startswith("缺少必填章节：申请条件、办理流程")
    v = client.post("/api/v1/knowledge/drafts", headers=owner, json=body).json()
    base = f"/api/v1/knowledge/items/guide-hardening-reject/versions/{v['number']}"
    assert client.post(f"{base}/submit", json={}, headers=owner).json()["state"] == "in_review"
    in_review = client.get("/api/v1/knowledge/items", params={"pending": "in_review", "limit": 200}, headers=owner)
    found = {i["id"]: i for i in in_review.json()["items"]}
    assert found["guide-hardening-reject"]["pending_version"] == v["number"]
    assert "guide-hardening-reject" not in {i["id"] for i in client.get(
        "/api/v1/knowledge/items", params={"pending": "in_review", "limit": 200}).json()["items"]}
    assert_envelope(client.post(f"{base}/reject", json={"note": "我自己退回"}, headers=owner), 403)  # the author
    assert_envelope(client.post(f"{base}/reject", json={"note": ""}, headers=admin), 422)
    rejected = client.post(f"{base}/reject", json={"note": "办理时限与条例不符"}, headers=admin).json()
    assert rejected["state"] == "rejected"
    assert client.get(base, headers=owner).json()["review_note"] == "办理时限与条例不符"
    v3 = client.post("/api/v1/knowledge/drafts", headers=owner, json=body | {"change_note": "改正时限"}).json()
    base = f"/api/v1/knowledge/items/guide-hardening-reject/versions/{v3['number']}"
    assert_envelope(client.post(f"{base}/withdraw", json={}, headers=auth(tokens["reviewer"])), 403)
    assert client.post(f"{base}/withdraw", json={"note": "暂缓"}, headers=owner).json()["state"] == "withdrawn"
    assert_envelope(client.post(f"{base}/frobnicate", json={}, headers=owner), 422)
