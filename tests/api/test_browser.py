"""Browser flows with Playwright driving Debian's chromium (never a browser download). Screenshots of each page
are saved under test-output/screenshots/ at phone width (390 px)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import SCREENSHOTS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="install Debian chromium: apt-get install chromium"),
]
sync_api = pytest.importorskip("playwright.sync_api")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def open_as(browser, live_server, tokens):
    """A fresh phone-width context logged in as `role` (None: anonymous) through the login box."""
    contexts = []

    def _open(role: str | None, path: str = "/"):
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + path)
        if role is not None:
            page.fill("#token", tokens[role])
            page.click("#login-btn")
            page.wait_for_selector("#who")
        return page

    yield _open
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def last_bot(page):
    return page.locator(".msg.bot").last


def send(page, text: str) -> None:
    before = page.locator(".msg.bot").count()
    page.fill("#text", text)
    page.click("#send")
    page.wait_for_function(f"() => document.querySelectorAll('.msg.bot').length > {before}")


def click_choice(page, label: str) -> None:
    before = page.locator(".msg.bot").count()
    page.locator("#choices button", has_text=label).first.click()
    page.wait_for_function(f"() => document.querySelectorAll('.msg.bot').length > {before}")


def test_citizen_completes_open_shop_to_confirmation(open_as):
    page = open_as("citizen")
    send(page, "我想在松江开个小饭馆要办哪些手续")
    assert "开店一件事" in page.inner_text("#matter")
    for label in ("自有房屋", "商铺", "本人办理", "同意"):
        click_choice(page, label)
    assert page.locator("#form tbody tr").count() >= 3
    assert page.locator("#form .badge.profile").count() >= 1  # filled from 档案 with its source
    send(page, "上海松江张三小吃店")
    send(page, "80平方米")
    click_choice(page, "餐饮服务")
    assert last_bot(page).get_attribute("data-outcome") == "awaiting_confirmation"
    assert page.locator("#form .badge.turn").count() >= 2  # fields from the conversation
    assert page.is_enabled("#confirm")
    shot(page, "citizen-confirm-390")
    before = page.locator(".msg.bot").count()
    page.click("#confirm")
    page.wait_for_function(f"() => document.querySelectorAll('.msg.bot').length > {before}")
    page.wait_for_selector("#application")
    assert "已提交申请" in page.inner_text("#application")
    assert page.locator("#checklist li").count() >= 1
    shot(page, "citizen-submitted-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # no horizontal scroll


def test_owner_retires_item_and_citizen_no_longer_sees_it(open_as, live_server):
    # a question the guide answers (简易注销 itself has its own FAQ, which the answer rightly cites)
    question, item_id = "公司注销要准备哪些材料", "guide-company-deregistration"
    citizen = open_as(None)
    send(citizen, question)
    assert citizen.locator(f".msg.bot a.cite[href^='/k/{item_id}/']").count() == 1
    with citizen.context.expect_page() as opened:
        citizen.locator(f".msg.bot a.cite[href^='/k/{item_id}/']").first.click()
    guide = opened.value
    guide.wait_for_selector("#title")
    shot(guide, "guide-version-390")
    guide.close()

    owner = open_as("owner", "/owner")
    owner.wait_for_selector(f"tr[data-item='{item_id}']")
    shot(owner, "owner-items-390")
    owner.click(f"tr[data-item='{item_id}'] a.open-item")
    owner.wait_for_selector("#d-actions:not([hidden])")
    owner.click("#retire")  # a dialog, not an immediate retirement: reason required, replacement offered
    owner.wait_for_selector("#retire-box:not([hidden]) #retire-replacement option[value='guide-company-reg']",
                            state="attached")
    owner.click("#retire-yes")
    owner.wait_for_function("() => document.getElementById('toast').textContent.includes('下线原因')")
    assert live_server.container.kb.store.get_item(item_id).status.value == "published"
    owner.fill("#retire-reason", "政策调整，暂停在线答复")
    shot(owner, "owner-retire-dialog-390")
    owner.click("#retire-yes")
    owner.wait_for_function(f"() => document.querySelector(\"tr[data-item='{item_id}'] .status\").textContent === '已下线'")
    shot(owner, "owner-retired-390")

    send(citizen, question)
    assert citizen.locator(f".msg.bot >> nth=-1 >> a.cite[href^='/k/{item_id}/']").count() == 0
    assert live_server.container.kb.store.get_item(item_id).status.value == "retired"


def test_reviewer_releases_held_answer_and_auditor_sees_it_verified(open_as):
    citizen = open_as(None)
    send(citizen, "居住证续签涉及信访吗")
    assert last_bot(citizen).get_attribute("data-outcome") == "held_for_review"
    turn = last_bot(citizen).get_attribute("data-turn")

    reviewer = open_as("reviewer", "/review")
    held = reviewer.locator(f".item.held[data-turn='{turn}']")
    held.wait_for()
    answer = held.locator("textarea.edit-text").input_value()
    shot(reviewer, "review-queue-390")
    held.locator("button.approve").click()
    reviewer.wait_for_function(f"() => !document.querySelector(\"[data-turn='{turn}']\")")

    # The citizen's page polls its session and shows the released answer in place, without a reload.
    released = citizen.locator(f".msg.bot.released[data-released-for='{turn}']")
    released.wait_for(timeout=20_000)
    assert "工作人员已复核" in released.inner_text() and answer in released.inner_text()
    assert released.locator("a.cite").count() >= 1
    assert last_bot(citizen).get_attribute("data-outcome") == "review_released"
    shot(citizen, "citizen-released-390")

    auditor = open_as("auditor", f"/audit?turn={turn}")
    auditor.wait_for_selector("#verified")
    assert "已验证" in auditor.inner_text("#verified")
    assert "review.approved" in auditor.inner_text("#trace")
    assert auditor.locator("#receipt").count() == 1
    shot(auditor, "audit-trace-390")


def test_bad_rating_in_web_chat_shows_up_in_owner_console(open_as, live_server):
    citizen = open_as(None)
    send(citizen, "营业执照上的经营范围要变更怎么办")
    answer = last_bot(citizen)
    answer.locator(".rating").wait_for()
    answer.locator(".rating .star[data-score='1']").click()
    answer.locator(".rating .tag[data-reason='信息过时']").click()
    answer.locator(".rating .comment").fill("内容和窗口说的不一样")
    answer.locator(".rating .rate-submit").click()
    answer.locator(".rated.bad").wait_for()
    assert "已转交责任单位整改" in answer.inner_text()
    ticket = answer.locator(".rated.bad").get_attribute("data-tickets").split()[0]
    shot(citizen, "citizen-rated-bad-390")
    assert citizen.evaluate("document.documentElement.scrollWidth") <= 390 + 1

    owner = open_as("owner", "/owner")
    row = owner.locator(f".ticket[data-ticket='{ticket}']")
    row.wait_for()
    assert "信息过时" in row.inner_text()
    shot(owner, "owner-tickets-390")
    row.locator(".t-note").fill("答复与现行办事指南一致，属误评")
    row.locator(".t-dispute").click()
    owner.wait_for_function(f"() => !document.querySelector(\".ticket[data-ticket='{ticket}']\")")

    reviewer = open_as("reviewer", "/review")
    dispute = reviewer.locator(f".item.dispute[data-ticket='{ticket}']")
    dispute.wait_for()
    assert "答复与现行办事指南一致" in dispute.inner_text()
    dispute.locator(".dispute-note").fill("核实为误评")
    dispute.locator("button.dispute-confirm").click()
    reviewer.wait_for_function(f"() => !document.querySelector(\".dispute[data-ticket='{ticket}']\")")
    assert live_server.container.guardrails.audit.latest("ratings.dispute_confirmed", ticket) is not None


def test_reviewer_accepts_and_closes_a_handoff(open_as, live_server):
    citizen = open_as(None)
    send(citizen, "我要转人工")
    assert last_bot(citizen).get_attribute("data-outcome") == "handed_off"
    assert "工单号：RG" in last_bot(citizen).inner_text() and "等候" in last_bot(citizen).inner_text()
    shot(citizen, "chat-handoff-ticket-390")
    session = citizen.evaluate("localStorage.getItem('qs_session')")
    assert session and session.startswith("s-")  # the server-issued id the page keeps across reloads
    handoff = next(h["id"] for h in live_server.container.assistant.deps.store.handoffs(session))

    reviewer = open_as("reviewer", "/review")
    item = reviewer.locator(f".item.handoff[data-handoff='{handoff}']")
    item.wait_for()
    assert "市民要求转人工" in item.inner_text() and "我要转人工" in item.inner_text()
    assert "工单号 RG" in item.inner_text() and "排队第" in item.inner_text()
    item.locator("button.handoff-accept").click()
    reviewer.wait_for_selector(f".item.handoff[data-handoff='{handoff}'][data-status='accepted']")
    shot(reviewer, "review-handoff-390")
    item.locator(".handoff-note").fill("已电话联系市民并解答")
    item.locator("button.handoff-close").click()
    reviewer.wait_for_function(f"() => !document.querySelector(\"[data-handoff='{handoff}']\")")
    assert reviewer.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    turn = live_server.container.assistant.deps.store.handoffs(session)[0]["turn_id"]
    closed = live_server.container.guardrails.audit.latest("handoff.closed", turn)
    assert closed is not None and closed.data["note"] == "已电话联系市民并解答"


DESKTOP = {"width": 1280, "height": 900}
MEDICAL = ["我要办城乡居民医保参保登记", "未就业的成年居民", "王小明", "110101199003074514", "13800001234",
           "上海市松江区中山街道1号", "银行卡代扣"]


def ready(page) -> None:
    page.wait_for_selector("body[data-ready='1']")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_reload_keeps_the_form_login_to_submit_then_my_applications(browser, live_server, tokens, viewport):
    """Anonymous: chat, fill, reload (everything still there), 确认提交 asks to log in; log in on the same page: the
    form is still there, submit; 我的办件 shows it with a Chinese timeline and Chinese field labels."""
    w = viewport["width"]
    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + "/")
        ready(page)
        for text in MEDICAL:
            send(page, text)
        assert last_bot(page).get_attribute("data-outcome") == "awaiting_confirmation"
        rows = page.locator("#form tbody tr").count()
        assert rows == 5 and page.is_enabled("#confirm")
        bubbles = page.locator(".msg").count()
        side = page.inner_text("#side")

        page.reload()
        ready(page)
        assert page.locator("#form tbody tr").count() == rows  # the form survives the reload, with its sources
        assert page.locator("#form .badge.turn").count() == rows
        assert page.locator(".msg").count() == bubbles  # and the conversation
        assert page.locator("#checklist li").count() >= 1 and page.inner_text("#side") == side  # checklist, citations
        assert page.is_enabled("#confirm") and "城乡居民基本医疗保险参保登记" in page.inner_text("#matter")
        shot(page, f"citizen-reload-restored-{w}")

        before = page.locator(".msg.bot").count()
        page.click("#confirm")
        page.wait_for_function(f"() => document.querySelectorAll('.msg.bot').length > {before}")
        page.wait_for_selector("#login-needed")
        assert "实名登录" in page.inner_text("#login-needed")
        assert page.locator("#application").count() == 0
        shot(page, f"citizen-login-to-submit-{w}")

        page.fill("#token", tokens["citizen"])
        page.click("#login-btn")
        page.wait_for_selector("#who")
        ready(page)
        assert page.locator("#form tbody tr").count() == rows  # the filled form carried over the login
        assert page.inner_text("#form tbody tr[data-field='name'] td:nth-child(2)") == "王小明"
        assert page.locator("#login-needed").count() == 0 and "您已登录" in page.inner_text("#logged-in-now")
        before = page.locator(".msg.bot").count()
        page.click("#confirm")
        page.wait_for_function(f"() => document.querySelectorAll('.msg.bot').length > {before}")
        page.wait_for_selector("#application")
        text = page.inner_text("#application")
        assert "已提交申请" in text and "城乡居民基本医疗保险参保登记" in text and "submitted" not in text
        app_id = last_bot(page).inner_text().split("申请编号 ")[1].split("。")[0]
        shot(page, f"citizen-submitted-after-login-{w}")
        assert page.evaluate("document.documentElement.scrollWidth") <= w + 1

        page.click("#to-me")
        ready(page)
        page.locator(f"li.app[data-app='{app_id}'] a.open-app").click()
        page.wait_for_selector("#timeline")
        labels = page.locator("#timeline li strong").all_inner_texts()
        assert labels[:2] == ["已提交", "已受理"]
        fields = page.inner_text("#fields")
        assert "申请人（监护人）姓名" in fields and "王小明" in fields and "id_number" not in fields
        body = page.inner_text("body")
        assert not any(code in body for code in ("awaiting_staff_review", "submitted", "id_number", "m-resident"))
        shot(page, f"citizen-my-applications-{w}")
        assert page.evaluate("document.documentElement.scrollWidth") <= w + 1

        other = browser.new_context(viewport=viewport, locale="zh-CN")  # another device, the same citizen
        try:
            phone = other.new_page()
            phone.set_default_timeout(15_000)
            phone.goto(live_server.url + "/")
            phone.fill("#token", tokens["citizen"])
            phone.click("#login-btn")
            phone.wait_for_selector("#who")
            ready(phone)
            assert app_id in phone.inner_text("#application")  # the conversation continues where it was left
            assert phone.locator("#form tbody tr").count() == rows
        finally:
            other.close()
    finally:
        ctx.close()


def test_staff_return_reaches_my_applications_and_inbox(browser, live_server, tokens, open_as):
    """The reviewer desk shows Chinese labels and statuses; a 退回补正 needs a reason, is confirmed, and its note
    shows on the citizen's timeline and in 消息."""
    from guardrails.roles import Principal, Role

    c = live_server.container
    citizen = c.guardrails.accounts.authenticate(tokens["citizen"])
    app = c.guardrails.applications.create(
        "s-browser", "m-resident-medical-insurance", Principal(account_id=citizen.account_id, role=Role.CITIZEN),
        {"name": "王小明", "id_number": "110101199003074514"}, True,
        sources={"name": {"label": "申请人（监护人）姓名", "source": "您在第3轮对话中提供", "kind": "turn"}})
    desk = open_as("reviewer", "/review")
    item = desk.locator(f".item[data-app='{app.id}']")
    item.wait_for()
    shown = item.inner_text()
    assert "城乡居民基本医疗保险参保登记" in shown and "审核中" in shown and "申请人身份证号码" in shown
    assert not any(code in shown for code in ("name", "id_number", "awaiting_staff_review", "m-resident"))
    shot(desk, "review-application-390")
    item.locator("button.app-return").click()  # no reason yet: refused on the page
    desk.wait_for_selector("#toast:has-text('请填写原因')")
    item.locator("input.app-reason").fill("请补充户口簿首页照片")
    item.locator("button.app-return").click()
    desk.wait_for_selector("#toast:has-text('已退回补正')")
    assert c.guardrails.applications.get(app.id).status.value == "returned"
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.set_default_timeout(15_000)
        page.goto(live_server.url + "/me")
        page.fill("#token", tokens["citizen"])
        page.click("#login-btn")
        page.wait_for_selector("#who")
        ready(page)
        assert page.inner_text(f"li.app[data-app='{app.id}'] .status") == "退回补正"
        assert "请补充户口簿首页照片" in page.inner_text("#messages")
        page.locator(f"li.app[data-app='{app.id}'] a.open-app").click()
        page.wait_for_selector("#timeline li[data-code='returned']")
        assert "请补充户口簿首页照片" in page.inner_text("#timeline li[data-code='returned']")
        shot(page, "citizen-returned-390")
    finally:
        ctx.close()


def test_pages_run_under_the_csp_and_the_audit_export_downloads(browser, live_server, tokens, open_as):
    """No inline script or style is blocked on any page (so none is used), /docs renders from local assets, a
    browser gets the Chinese 404 page, and the auditor's 导出 JSONL saves a JSON Lines file (#16)."""
    import json

    blocked: list[str] = []
    for role, path in ((None, "/"), ("owner", "/owner"), ("reviewer", "/review"), ("citizen", "/me"),
                       ("auditor", "/audit"), (None, "/k/guide-individual-business-reg/1"), (None, "/docs"),
                       (None, "/no/such/page")):
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
        page = ctx.new_page()
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        if role is not None:
            page.goto(live_server.url + "/static/app.css")
            page.evaluate("t => localStorage.setItem('qs_token', t)", tokens[role])
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        if path == "/docs":
            page.wait_for_selector(".opblock", timeout=15_000)
        if path == "/no/such/page":
            assert "找不到这个页面" in page.inner_text("main")
        ctx.close()
    assert blocked == []
    page = open_as("auditor", "/audit")
    page.wait_for_load_state("networkidle")
    with page.expect_download() as info:
        page.click("#export")
    download = info.value
    assert download.suggested_filename.endswith(".jsonl")
    lines = Path(download.path()).read_text(encoding="utf-8").strip().split("\n")
    assert len(lines) > 1 and all(isinstance(json.loads(line), dict) for line in lines)
    shot(page, "audit-export-390")


def test_owner_edits_from_the_current_version_and_cannot_submit_a_gutted_guide(open_as, live_server, browser, tokens):
    """A new draft starts from the live version; deleting required sections warns, and such a draft cannot be
    submitted; submitting shows the diff first; another person rejects with a reason the author reads (#16)."""
    item_id = "guide-medical-device-filing"
    owner = open_as("owner", "/owner")
    owner.on("dialog", lambda d: d.accept())
    owner.wait_for_selector(f"tr[data-item='{item_id}']")
    owner.click(f"tr[data-item='{item_id}'] a.open-item")
    owner.wait_for_function("() => document.getElementById('draft-body').value.includes('## 申请条件')")
    full = owner.input_value("#draft-body")
    assert all(f"## {h}" in full for h in ("申请材料", "办理流程", "办理时限", "收费标准", "设定依据"))
    assert owner.is_hidden("#draft-warning")
    owner.fill("#draft-body", "## 申请材料\n只剩这一节。")
    owner.wait_for_selector("#draft-warning .missing")
    assert "缺少必填章节：申请条件" in owner.inner_text("#draft-warning")
    shot(owner, "owner-draft-warning-390")
    owner.click("#draft-btn")
    owner.wait_for_selector("#versions tr[data-version='2'] .act-submit")
    owner.click("#versions tr[data-version='2'] .act-submit")
    owner.wait_for_selector("#submit-confirm:not([hidden])")
    assert owner.locator("#diff .removed").count() > 0  # the deleted sections are shown before submitting
    owner.click("#submit-yes")
    owner.wait_for_function("() => document.getElementById('toast').textContent.includes('缺少必填章节')")
    assert owner.inner_text("#versions tr[data-version='2'] .v-state") == "草稿"

    owner.click("#draft-reset")  # back to the live version's text, then one real change
    owner.wait_for_function("() => document.getElementById('draft-body').value.includes('## 申请条件')")
    owner.fill("#draft-body", owner.input_value("#draft-body").replace("## 办理时限\n", "## 办理时限\n（已核对）"))
    owner.fill("#note", "核对办理时限")
    owner.click("#draft-btn")
    owner.wait_for_selector("#versions tr[data-version='3'] .act-submit")
    owner.click("#versions tr[data-version='3'] .act-submit")
    owner.wait_for_selector("#submit-confirm:not([hidden])")
    assert [owner.locator("#diff .changed b").first.inner_text()] == ["办理时限（有修改）"]
    shot(owner, "owner-submit-diff-390")
    owner.click("#submit-yes")
    owner.wait_for_function("() => document.querySelector(\"#versions tr[data-version='3'] .v-state\").textContent === '审核中'")
    owner.select_option("#status-filter", "pending:in_review")  # a published item with a version in review
    owner.wait_for_function(f"() => document.querySelectorAll('#items tbody tr').length === 1 && "
                            f"document.querySelector(\"tr[data-item='{item_id}'] .badge.pending\")?.textContent === '审核中 v3'")
    shot(owner, "owner-in-review-filter-390")

    second = live_server.container.guardrails.accounts.add("owner-second-pair-of-eyes", "owner", ("sj-scjgj",))
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    admin = ctx.new_page()  # another person of the same unit: the four-eyes reviewer
    admin.goto(live_server.url + "/static/app.css")
    admin.evaluate("t => localStorage.setItem('qs_token', t)", second.token)
    admin.goto(live_server.url + "/owner")
    admin.wait_for_selector(f"tr[data-item='{item_id}']")
    admin.click(f"tr[data-item='{item_id}'] a.open-item")
    admin.wait_for_selector("#versions tr[data-version='3'] .act-reject")
    admin.fill("#note", "时限表述与设定依据不一致")
    admin.click("#versions tr[data-version='3'] .act-reject")
    admin.wait_for_function("() => document.querySelector(\"#versions tr[data-version='3'] .v-state\").textContent === '已退回'")
    assert "退回原因：时限表述与设定依据不一致" in admin.inner_text("#versions tr[data-version='3']")
    assert live_server.container.kb.store.get_item(item_id).current_version == 1
    ctx.close()
    wide = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = wide.new_page()
    page.goto(live_server.url + "/static/app.css")
    page.evaluate("t => localStorage.setItem('qs_token', t)", tokens["owner"])
    page.goto(live_server.url + "/owner")
    page.click(f"tr[data-item='{item_id}'] a.open-item")
    page.wait_for_selector("#versions tr[data-version='3'] .note")
    shot(page, "owner-rejected-1280")
    wide.close()


def test_knowledge_approval_on_review_page_shows_a_readable_diff_and_decides(open_as, live_server, tokens, browser):
    import httpx

    owner = {"Authorization": f"Bearer {tokens['owner']}"}
    mine = httpx.get(f"{live_server.url}/api/v1/knowledge/items", params={"mine": True, "status": "published",
                                                                        "limit": 200}, headers=owner).json()["items"]
    item = next(i for i in mine if i["pending_version"] is None and i["id"].startswith("guide-"))
    v = httpx.post(f"{live_server.url}/api/v1/knowledge/items/{item['id']}/tags", json={"add": ["审批演示"]},
                   headers=owner).json()
    httpx.post(f"{live_server.url}/api/v1/knowledge/items/{item['id']}/versions/{v['number']}/submit", json={},
               headers=owner)
    page = open_as("admin", "/review")
    card = f".kb-version[data-item='{item['id']}']"
    page.wait_for_selector(card)
    assert "标签：" in page.inner_text(f"{card} .kb-diff") and "审批演示" in page.inner_text(f"{card} .kb-diff")
    assert "审核中（" in page.inner_text("#kb-filters")
    shot(page, "review-knowledge-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "review-knowledge-1280")
    page.click(f"{card} .kb-reject")  # no reason: refused in Chinese, nothing sent
    assert "请填写退回原因" in page.inner_text("#toast")
    page.click(f"{card} .kb-approve")
    page.wait_for_function(f"() => !document.querySelector(\"{card}\")")
    page.click(".kb-filter[data-state='approved']")
    page.wait_for_selector(f"{card} .kb-publish")
    page.click(f"{card} .kb-publish")
    page.wait_for_function("() => document.getElementById('toast').textContent.includes('已发布')")
    live = httpx.get(f"{live_server.url}/api/v1/knowledge/items/{item['id']}").json()
    assert live["current_version"] == v["number"]
    as_owner = open_as("owner", "/review")
    as_owner.wait_for_selector("#kb-filters")
    assert "知识审批见上方" in as_owner.inner_text("#held")
    shot(as_owner, "review-knowledge-owner-390")


def test_owner_inbox_shows_rejections_with_reasons_and_drafts(open_as, live_server, tokens):
    import httpx

    owner, admin = ({"Authorization": f"Bearer {tokens[r]}"} for r in ("owner", "admin"))
    mine = httpx.get(f"{live_server.url}/api/v1/knowledge/items", params={"mine": True, "status": "published",
                                                                        "limit": 200}, headers=owner).json()["items"]
    item = next(i for i in mine if i["pending_version"] is None and i["id"].startswith("faq-"))
    v = httpx.post(f"{live_server.url}/api/v1/knowledge/items/{item['id']}/tags", json={"remove": ["法人"]},
                   headers=owner).json()
    base = f"{live_server.url}/api/v1/knowledge/items/{item['id']}/versions/{v['number']}"
    httpx.post(f"{base}/submit", json={}, headers=owner)
    httpx.post(f"{base}/reject", json={"note": "不能去掉法人标签"}, headers=admin)
    page = open_as("owner", "/owner")
    page.wait_for_selector(f"#inbox-rejected li[data-item='{item['id']}']")
    assert "不能去掉法人标签" in page.inner_text("#inbox-rejected")
    assert "进行中的草稿" in page.inner_text("#inbox") and "30 天内需复审或将失效" in page.inner_text("#inbox")
    shot(page, "owner-inbox-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "owner-inbox-1280")


def test_an_emergency_handoff_is_marked_and_first_on_the_desk(open_as, live_server):
    citizen = open_as(None)
    send(citizen, "我要转人工")
    send(citizen, "阿拉屋里厢着火了！！")
    assert "紧急求助已优先处理" in last_bot(citizen).inner_text()
    reviewer = open_as("reviewer", "/review")
    reviewer.set_viewport_size(DESKTOP)
    first = reviewer.locator(".item.handoff").first
    first.wait_for()
    assert "紧急" in first.inner_text() and "排队第1位" in first.inner_text()
    assert "emergency" in (first.get_attribute("class") or "")
    shot(reviewer, "review-handoff-emergency-1280")
