"""The monthly 好差评 report: numbers per unit, recurring problems, charts embedded as PNG."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from feedback.ratings import RatingsService, build_ratings
from feedback.reports import ReportError, build_ratings_report, month_bounds, write_report
from kb.events import MemorySink
from kb.lifecycle import ItemDraft
from kb.models import Actor
from kb.runtime import KnowledgeBase
from tests.published import GUIDE, POLICY, Clock, publish_v2

pytestmark = pytest.mark.integration
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def november(loaded_kb: KnowledgeBase, admin: Actor, make_draft: Callable[..., ItemDraft]) -> RatingsService:
    """A month of ratings: sj-scjgj gets recurring complaints about outdated material lists, sj-rsj one
    complaint that is resolved, plus an October ticket that is still open (overdue)."""
    clock = Clock(dt.datetime(2026, 10, 20, 10, tzinfo=dt.UTC))
    svc = build_ratings(loaded_kb.store, MemorySink(), clock=clock)
    svc.rate("answer", "oct-1", 1, ["流程繁琐"], "要跑好几个窗口", cited=[(POLICY, 1)])
    clock.now = dt.datetime(2026, 11, 3, 9, tzinfo=dt.UTC)
    for n, comment in enumerate(["营业执照原件要求已经过时了", "现在营业执照原件不用交了吧", "营业执照原件这条信息过时",
                                 None]):
        clock.advance(hours=5)
        svc.rate("answer", f"nov-bad-{n}", 1 + n % 2, ["信息过时"], comment, cited=[(GUIDE, 1)])
    svc.rate("answer", "nov-rude", 2, ["态度"], "回答很敷衍，电话13812345678", cited=[(GUIDE, 1)])
    for n in range(5):
        svc.rate("answer", f"nov-good-{n}", 5, cited=[(GUIDE, 1)] if n % 2 else [(POLICY, 1)])
    ticket = svc.rate("answer", "nov-rsj", 2, ["答非所问"], "问的是租房补贴，答的是别的", cited=[(POLICY, 1)]).tickets[0]
    v2 = publish_v2(loaded_kb, admin, make_draft, POLICY, "sj-rsj")
    clock.advance(days=2, hours=12)
    svc.resolve(ticket.id, "sj-rsj", "li", POLICY, v2)
    return svc


def _report(svc: RatingsService, kb: KnowledgeBase, **kw: object):  # type: ignore[no-untyped-def]
    return build_ratings_report(svc, kb.store, kb.tokenizer, "2026-11", today=dt.date(2026, 12, 5), **kw)  # type: ignore[arg-type]


def test_numbers_per_unit(november: RatingsService, loaded_kb: KnowledgeBase) -> None:
    report = _report(november, loaded_kb)
    units = {u.unit: u for u in report.units}
    assert set(units) == {"sj-scjgj", "sj-rsj"}
    scjgj, rsj = units["sj-scjgj"], units["sj-rsj"]
    assert (scjgj.ratings, scjgj.bad, scjgj.opened, scjgj.closed) == (7, 5, 5, 0)
    assert scjgj.bad_rate == pytest.approx(5 / 7)
    assert scjgj.reasons == {"信息过时": 4, "态度": 1}
    assert scjgj.overdue == 5 and scjgj.open_now == 5  # opened 3 Nov, due 17 Nov, still open on 30 Nov
    assert (rsj.ratings, rsj.bad, rsj.opened, rsj.closed) == (4, 1, 1, 1)
    assert rsj.median_days_to_fix == 2.5
    assert rsj.overdue == 1  # the October ticket, due 2026-11-03, still open
    assert report.total.ratings == 11 and report.total.opened == 6
    assert scjgj.name == "松江区市场监督管理局"
    assert scjgj.items[0][:3] == (GUIDE, "测试事项办理指南", 5)


def test_recurring_problems_are_clustered_with_examples(november: RatingsService, loaded_kb: KnowledgeBase) -> None:
    clusters = {u.unit: u for u in _report(november, loaded_kb).units}["sj-scjgj"].clusters
    top = clusters[0]
    assert top.reason == "信息过时" and top.count == 3 and top.recurring
    assert "营业执照" in top.keywords or "原件" in top.keywords
    assert len(top.examples) == 3 and top.items == [GUIDE]
    assert sorted(c.count for c in clusters) == [1, 1, 3]  # + the bare rating, + 态度
    rude = next(c for c in clusters if c.reason == "态度")
    assert rude.examples == ["回答很敷衍，电话[手机号]"]  # stored redacted, reported redacted


def test_html_embeds_png_charts_and_md_links_them(november: RatingsService, loaded_kb: KnowledgeBase,
                                                  tmp_path: Path) -> None:
    report = _report(november, loaded_kb)
    assert set(report.charts) == {"units", "reasons", "tickets"}
    assert all(png.startswith(PNG) for png in report.charts.values())
    html_path = write_report(report, tmp_path, "html")
    page = html_path.read_text(encoding="utf-8")
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3 and all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "好差评整改月报 2026-11" in page and "松江区市场监督管理局" in page and "13812345678" not in page
    assert (tmp_path / "ratings-2026-11-units.png").read_bytes().startswith(PNG)
    md = write_report(report, tmp_path, "md", unit=None).read_text(encoding="utf-8")
    assert "![各单位评价与差评](ratings-2026-11-units.png)" in md and "| 松江区市场监督管理局 | 7 | 5 |" in md


def test_comments_cannot_inject_html(loaded_kb: KnowledgeBase, tmp_path: Path) -> None:
    svc = build_ratings(loaded_kb.store, clock=Clock(dt.datetime(2026, 11, 5, tzinfo=dt.UTC)))
    svc.rate("answer", "x", 1, ["其他"], "<script>alert(1)</script>", cited=[(GUIDE, 1)])
    page = write_report(_report(svc, loaded_kb), tmp_path).read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_one_unit_and_fallback_without_cjk_font(november: RatingsService, loaded_kb: KnowledgeBase,
                                                tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning, match="no CJK font"):
        report = _report(november, loaded_kb, unit="sj-rsj", font=None)
    assert [u.unit for u in report.units] == ["sj-rsj"] and report.total.ratings == 4
    assert report.font is None and report.warnings and all(p.startswith(PNG) for p in report.charts.values())
    path = write_report(report, tmp_path, "md", unit="sj-rsj")
    assert path.name == "ratings-2026-11-sj-rsj.md" and "no CJK font" in path.read_text(encoding="utf-8")


def test_month_and_format_are_checked(november: RatingsService, loaded_kb: KnowledgeBase, tmp_path: Path) -> None:
    assert month_bounds("2026-12") == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    for bad in ("2026-13", "2026/11", "11-2026", ""):
        with pytest.raises(ReportError, match="is not YYYY-MM"):
            month_bounds(bad)
    empty = build_ratings_report(november, loaded_kb.store, loaded_kb.tokenizer, "2025-01", today=dt.date(2026, 1, 1))
    assert empty.units == [] and empty.total.ratings == 0 and empty.charts
    with pytest.raises(ReportError, match="format 'pdf'"):
        write_report(empty, tmp_path, "pdf")
