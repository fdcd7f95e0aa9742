"""Monthly 好差评 report per unit: ratings, bad-rating rate, rectification tickets, recurring problems, charts.

`qingsong report ratings --month 2026-11 [--unit sj-rsj] [--format html|md] [--out DIR]`

Definitions (all for the calendar month, UTC):
- ratings / bad ratings: ratings created in the month that concern the unit (it owns a cited version, or is
  the matter's department); bad = score <= 2.
- opened: tickets opened in the month; closed: tickets resolved or whose dispute was confirmed in the month;
  overdue: tickets not closed by their due date, where the due date passed by the end of the month (or
  today, if earlier) and the ticket was not closed before the month began.
- median days to fix: opened -> resolved, for tickets resolved in the month (confirmed disputes excluded).
- recurring problems: bad ratings grouped by reason tag, then joined when their comments share a jieba
  keyword; a cluster with two or more ratings is recurring.
Charts are drawn with matplotlib (Agg), saved as PNG beside the report and embedded in the HTML as base64.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import re
import statistics
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feedback.errors import FeedbackError
from feedback.ratings import Rating, RatingsService, ReasonTag, Ticket, TicketStatus
from kb.store import SqlStore
from kb.text import JiebaTokenizer

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

log = logging.getLogger(__name__)
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN", "Droid Sans Fallback")
REASON_EN = {ReasonTag.OFF_TOPIC: "off-topic", ReasonTag.OUTDATED: "outdated", ReasonTag.CUMBERSOME: "cumbersome",
             ReasonTag.COMPLEX_MATERIALS: "complex materials", ReasonTag.ATTITUDE: "attitude",
             ReasonTag.OTHER: "other"}
_LABEL = re.compile(r"\[[^\]\s]{1,12}\]")  # PII redaction labels such as [手机号]
MAX_CHART_UNITS = 15
AUTO = "auto"
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class ReportError(FeedbackError, ValueError):
    code = "invalid_report"


@dataclass
class Cluster:
    reason: str
    keywords: list[str]
    count: int
    examples: list[str]
    items: list[str]

    @property
    def recurring(self) -> bool:
        return self.count >= 2


@dataclass
class UnitReport:
    unit: str
    name: str
    ratings: int = 0
    bad: int = 0
    scores: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    reasons: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    closed: int = 0
    overdue: int = 0
    open_now: int = 0
    median_days_to_fix: float | None = None
    clusters: list[Cluster] = field(default_factory=list)
    items: list[tuple[str, str, int, int]] = field(default_factory=list)  # item id, title, bad, all

    @property
    def bad_rate(self) -> float | None:
        return self.bad / self.ratings if self.ratings else None


@dataclass
class RatingsReport:
    month: str
    start: dt.date
    end: dt.date  # exclusive
    generated_at: dt.datetime
    units: list[UnitReport]
    total: UnitReport
    charts: dict[str, bytes] = field(default_factory=dict)  # name -> PNG
    font: str | None = None
    warnings: list[str] = field(default_factory=list)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    m = _MONTH.match(month or "")
    if not m:
        raise ReportError(f"month {month!r} is not YYYY-MM, e.g. 2026-11")
    year, mon = int(m.group(1)), int(m.group(2))
    start = dt.date(year, mon, 1)
    end = dt.date(year + (mon == 12), mon % 12 + 1, 1)
    return start, end


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


# -- building ---------------------------------------------------------------------------------------------
def build_ratings_report(ratings: RatingsService, kb_store: SqlStore, tokenizer: JiebaTokenizer, month: str,
                         unit: str | None = None, today: dt.date | None = None,
                         now: Callable[[], dt.datetime] | None = None, font: str | None = AUTO) -> RatingsReport:
    start, end = month_bounds(month)
    today = today or dt.date.today()
    cutoff = min(end - dt.timedelta(days=1), today)
    rated = ratings.list_ratings(unit=unit, since=_at(start), until=_at(end))
    all_tickets = [t for t in ratings.list_tickets(unit=unit, opened_until=_at(end))
                   if not (t.closed and t.closed_at and t.closed_at < _at(start))]
    unit_ids = sorted({u for r in rated for u in r.units} | {t.unit for t in all_tickets})
    if unit:
        unit_ids = [unit]
    titles: dict[str, str] = {}

    def title(item_id: str) -> str:
        if item_id not in titles:
            item = kb_store.find_item(item_id)
            titles[item_id] = item.title if item else item_id
        return titles[item_id]

    keywords = _keyword_cache(tokenizer)
    units = []
    for u in unit_ids:
        info = kb_store.unit(u)
        units.append(_unit_report(u, info.name if info else u, [r for r in rated if u in r.units],
                                  [t for t in all_tickets if t.unit == u], start, end, cutoff, title, keywords))
    total = _unit_report("*", "全部单位" if not unit else (units[0].name if units else unit), rated, all_tickets,
                         start, end, cutoff, title, keywords)
    report = RatingsReport(month=month, start=start, end=end, generated_at=(now or _utcnow)(), units=units,
                           total=total)
    report.charts, report.font, report.warnings = render_charts(report, font)
    return report


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _keyword_cache(tokenizer: JiebaTokenizer) -> Callable[[str], list[str]]:
    cache: dict[str, list[str]] = {}

    def keywords(text: str) -> list[str]:
        if text not in cache:
            clean = _LABEL.sub(" ", text)
            cache[text] = [w for w in tokenizer.keywords(clean, top_k=3) if len(w) >= 2]
        return cache[text]

    return keywords


def _unit_report(unit: str, name: str, rated: Sequence[Rating], tickets: Sequence[Ticket], start: dt.date,
                 end: dt.date, cutoff: dt.date, title: Callable[[str], str],
                 keywords: Callable[[str], list[str]]) -> UnitReport:
    rep = UnitReport(unit=unit, name=name, ratings=len(rated), bad=sum(r.bad for r in rated))
    for r in rated:
        rep.scores[r.score] += 1
        if r.bad:
            for tag in r.reasons or (ReasonTag.OTHER,):
                rep.reasons[tag.value] = rep.reasons.get(tag.value, 0) + 1
    lo, hi = _at(start), _at(end)
    rep.opened = sum(lo <= t.opened_at < hi for t in tickets)
    closed = [t for t in tickets if t.closed and t.closed_at and lo <= t.closed_at < hi]
    rep.closed = len(closed)
    rep.overdue = sum(t.due_on < cutoff and t.overdue(cutoff) for t in tickets)
    rep.open_now = sum(not t.closed for t in tickets)
    fixes = [(t.closed_at - t.opened_at).total_seconds() / 86400 for t in closed
             if t.status == TicketStatus.RESOLVED and t.closed_at]
    rep.median_days_to_fix = round(statistics.median(fixes), 1) if fixes else None
    rep.clusters = cluster_problems([r for r in rated if r.bad], keywords)
    bad_items: Counter[str] = Counter(c.item_id for r in rated if r.bad for c in r.cited)
    all_items: Counter[str] = Counter(c.item_id for r in rated for c in r.cited)
    ranked = sorted(all_items, key=lambda i: (-bad_items[i], -all_items[i], i))[:8]
    rep.items = [(i, title(i), bad_items[i], all_items[i]) for i in ranked]
    return rep


def _finder(parent: list[int]) -> Callable[[int], int]:
    """Union-find root lookup with path halving over `parent`."""

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    return find


def cluster_problems(bad: Sequence[Rating], keywords: Callable[[str], list[str]]) -> list[Cluster]:
    """Group bad ratings by their first reason tag, then join those whose comments share a keyword."""
    by_reason: dict[str, list[Rating]] = {}
    for r in bad:
        by_reason.setdefault((r.reasons or (ReasonTag.OTHER,))[0].value, []).append(r)
    clusters: list[Cluster] = []
    for reason, members in by_reason.items():
        parent = list(range(len(members)))
        find = _finder(parent)
        kw = [keywords(r.comment) if r.comment else [] for r in members]
        first_with: dict[str, int] = {}
        no_comment: list[int] = []
        for i, terms in enumerate(kw):
            if not terms:
                no_comment.append(i)
            for w in terms:
                if w in first_with:
                    parent[find(i)] = find(first_with[w])
                else:
                    first_with[w] = i
        for i in no_comment[1:]:  # ratings without a comment form one group per reason
            parent[find(i)] = find(no_comment[0])
        groups: dict[int, list[int]] = {}
        for i in range(len(members)):
            groups.setdefault(find(i), []).append(i)
        for idx in groups.values():
            words = Counter(w for i in idx for w in kw[i])
            examples = list(dict.fromkeys(c for i in idx if (c := members[i].comment)))[:3]
            items = Counter(c.item_id for i in idx for c in members[i].cited)
            clusters.append(Cluster(reason=reason, keywords=[w for w, _ in words.most_common(3)], count=len(idx),
                                    examples=examples, items=[i for i, _ in items.most_common(3)]))
    clusters.sort(key=lambda c: (-c.count, c.reason, c.keywords))
    return clusters


# -- charts -----------------------------------------------------------------------------------------------
def find_cjk_font() -> str | None:
    """The name of an installed font that has Chinese glyphs, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    for path in font_manager.findSystemFonts():  # fonts installed after matplotlib built its cache
        low = path.lower()
        if any(k in low for k in ("wqy", "notosanscjk", "noto-cjk", "sourcehan", "simhei", "droidsansfallback")):
            try:
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError):
                continue
    return None


def render_charts(report: RatingsReport, font: str | None = AUTO) -> tuple[dict[str, bytes], str | None, list[str]]:
    """PNG charts of the report. Without a CJK font the labels fall back to ASCII (with a warning).

    `font`: "auto" finds an installed CJK font; a font name uses it; None forces the ASCII fallback.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if font == AUTO:
        font = find_cjk_font()
    notes: list[str] = []
    if font is None:
        msg = ("no CJK font found (install fonts-noto-cjk or fonts-wqy-zenhei); charts use ASCII labels")
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
        log.warning(msg)
        notes.append(msg)
    zh = font is not None

    def t(chinese: str, english: str) -> str:
        return chinese if zh else english

    rc: dict[RcKeyType, Any] = {"font.sans-serif": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
                          "font.family": "sans-serif", "axes.unicode_minus": False, "figure.dpi": 100}
    if font:  # some CJK fonts (WenQuanYi Zen Hei) only have weight 500; ask for it to keep matplotlib quiet
        rc.update({"font.weight": 500, "axes.titleweight": 500, "axes.labelweight": 500})
    charts: dict[str, bytes] = {}
    units = sorted(report.units or [report.total], key=lambda u: (-u.ratings, -u.opened, u.unit))[:MAX_CHART_UNITS]
    units.reverse()  # horizontal bars draw bottom-up: the busiest unit on top
    labels = [(u.name if zh else u.unit) for u in units]
    ys = list(range(len(units)))
    height = max(3.0, 0.45 * len(units) + 1.4)
    with matplotlib.rc_context(rc):
        fig, ax = plt.subplots(figsize=(8, height))
        ax.barh([y + 0.2 for y in ys], [u.ratings for u in units], height=0.4, label=t("评价数", "ratings"),
                color="#4C78A8")
        ax.barh([y - 0.2 for y in ys], [u.bad for u in units], height=0.4, label=t("差评数", "bad ratings"),
                color="#E45756")
        ax.set_yticks(ys, labels, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(t(f"{report.month} 各单位评价与差评", f"{report.month} ratings per unit"))
        ax.legend(loc="lower right")
        charts["units"] = _png(fig)

        fig, ax = plt.subplots(figsize=(6, 3.6))
        reasons = [tag for tag in ReasonTag if report.total.reasons.get(tag.value)]
        ax.barh([t(r.value, REASON_EN[r]) for r in reasons], [report.total.reasons[r.value] for r in reasons],
                color="#F58518")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(t("差评原因分布", "reasons of bad ratings"))
        ax.invert_yaxis()
        charts["reasons"] = _png(fig)

        fig, ax = plt.subplots(figsize=(8, height))
        for offset, (key, zh_label, en_label, color) in zip(
            (0.27, 0.0, -0.27),
            (("opened", "新开工单", "opened", "#4C78A8"), ("closed", "已办结", "closed", "#54A24B"),
             ("overdue", "超期", "overdue", "#E45756")), strict=True,
        ):
            ax.barh([y + offset for y in ys], [getattr(u, key) for u in units], height=0.27,
                    label=t(zh_label, en_label), color=color)
        ax.set_yticks(ys, labels, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(t(f"{report.month} 整改工单", f"{report.month} rectification tickets"))
        ax.legend(loc="lower right")
        charts["tickets"] = _png(fig)
    plt.close("all")
    return charts, font, notes


def _png(fig: object) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()  # type: ignore[attr-defined]
    fig.savefig(buf, format="png")  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt

    plt.close(fig)  # type: ignore[arg-type]
    return buf.getvalue()


# -- rendering --------------------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g} 天"


CHART_TITLES = {"units": "各单位评价与差评", "reasons": "差评原因分布", "tickets": "整改工单"}


def render_html(report: RatingsReport) -> str:
    e = html.escape
    out = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>好差评月报 {e(report.month)}</title>",
        "<style>body{font-family:'Noto Sans CJK SC','WenQuanYi Zen Hei',sans-serif;max-width:1100px;margin:2em auto;"
        "color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}th{background:#f3f3f3}.num{text-align:right}.warn{color:#a15c00}"
        "img{max-width:100%;border:1px solid #eee;margin:0.5em 0}</style></head><body>",
        f"<h1>好差评整改月报 {e(report.month)}</h1>",
        f"<p>统计区间 {report.start} 至 {report.end - dt.timedelta(days=1)}；生成时间 "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC。</p>",
    ]
    out += [f"<p class='warn'>{e(w)}</p>" for w in report.warnings]
    out.append("<h2>各单位概览</h2><table><tr><th>单位</th><th>评价数</th><th>差评数</th><th>差评率</th>"
               "<th>新开工单</th><th>办结</th><th>超期</th><th>未办结</th><th>整改用时中位数</th></tr>")
    for u in [*report.units, report.total]:
        out.append(f"<tr><td>{e(u.name)} <small>{e(u.unit) if u.unit != '*' else ''}</small></td>"
                   f"<td class='num'>{u.ratings}</td><td class='num'>{u.bad}</td><td class='num'>{_pct(u.bad_rate)}</td>"
                   f"<td class='num'>{u.opened}</td><td class='num'>{u.closed}</td><td class='num'>{u.overdue}</td>"
                   f"<td class='num'>{u.open_now}</td><td class='num'>{_days(u.median_days_to_fix)}</td></tr>")
    out.append("</table>")
    for name, png in report.charts.items():
        data = base64.b64encode(png).decode("ascii")
        out.append(f"<figure><img alt='{e(CHART_TITLES.get(name, name))}' src='data:image/png;base64,{data}'>"
                   f"<figcaption>{e(CHART_TITLES.get(name, name))}</figcaption></figure>")
    for u in report.units:
        out.append(f"<h2>{e(u.name)}（{e(u.unit)}）</h2>")
        out.append("<h3>反复出现的问题</h3>")
        if not u.clusters:
            out.append("<p>本月无差评。</p>")
        else:
            out.append("<table><tr><th>原因</th><th>关键词</th><th>次数</th><th>涉及知识</th><th>示例（已脱敏）</th></tr>")
            for c in u.clusters:
                mark = "（反复）" if c.recurring else ""
                examples = "<br>".join(e(x) for x in c.examples) or "<small>无文字评论</small>"
                out.append(f"<tr><td>{e(c.reason)}{mark}</td><td>{e('、'.join(c.keywords)) or '-'}</td>"
                           f"<td class='num'>{c.count}</td><td>{e('、'.join(c.items)) or '-'}</td><td>{examples}</td></tr>")
            out.append("</table>")
        if u.items:
            out.append("<h3>涉及最多的知识条目</h3><table><tr><th>条目</th><th>标题</th><th>差评中被引用</th>"
                       "<th>全部评价中被引用</th></tr>")
            out += [f"<tr><td>{e(i)}</td><td>{e(t)}</td><td class='num'>{b}</td><td class='num'>{a}</td></tr>"
                    for i, t, b, a in u.items]
            out.append("</table>")
    out.append("<p><small>评论内容已做个人信息脱敏。口径说明见 feedback/reports.py。</small></p></body></html>")
    return "\n".join(out)


def render_markdown(report: RatingsReport, chart_files: dict[str, str] | None = None) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = [f"# 好差评整改月报 {report.month}", "",
           f"统计区间 {report.start} 至 {report.end - dt.timedelta(days=1)}；生成时间 {report.generated_at:%Y-%m-%d %H:%M} UTC。", ""]
    out += [f"> {w}" for w in report.warnings]
    out += ["| 单位 | 评价数 | 差评数 | 差评率 | 新开工单 | 办结 | 超期 | 未办结 | 整改用时中位数 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for u in [*report.units, report.total]:
        out.append(f"| {cell(u.name)} | {u.ratings} | {u.bad} | {_pct(u.bad_rate)} | {u.opened} | {u.closed} | "
                   f"{u.overdue} | {u.open_now} | {_days(u.median_days_to_fix)} |")
    out.append("")
    for name, file in (chart_files or {}).items():
        out.append(f"![{CHART_TITLES.get(name, name)}]({file})")
    for u in report.units:
        out += ["", f"## {cell(u.name)}（{u.unit}）", "", "### 反复出现的问题", ""]
        if not u.clusters:
            out.append("本月无差评。")
        for c in u.clusters:
            mark = "（反复）" if c.recurring else ""
            out.append(f"- **{c.reason}{mark}** ×{c.count}：关键词 {'、'.join(c.keywords) or '-'}；"
                       f"涉及 {'、'.join(c.items) or '-'}")
            out += [f"  - “{cell(x)}”" for x in c.examples]
        if u.items:
            out += ["", "### 涉及最多的知识条目", "", "| 条目 | 标题 | 差评中被引用 | 全部评价中被引用 |", "|---|---|---:|---:|"]
            out += [f"| {i} | {cell(t)} | {b} | {a} |" for i, t, b, a in u.items]
    out.append("")
    return "\n".join(out)


def write_report(report: RatingsReport, out_dir: Path, fmt: str = "html", unit: str | None = None) -> Path:
    """Write the charts as PNG files and the report (HTML with embedded charts, or Markdown linking them)."""
    if fmt not in ("html", "md"):
        raise ReportError(f"format {fmt!r}: use html or md")
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"ratings-{report.month}" + (f"-{unit}" if unit else "")
    files: dict[str, str] = {}
    for name, png in report.charts.items():
        path = out_dir / f"{stem}-{name}.png"
        path.write_bytes(png)
        files[name] = path.name
    target = out_dir / f"{stem}.{fmt}"
    text = render_html(report) if fmt == "html" else render_markdown(report, files)
    target.write_text(text, encoding="utf-8")
    return target

