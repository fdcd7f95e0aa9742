"""Raw records -> validated item drafts. Every rejection names the file, the field and the fix."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from ingest.errors import SourceError
from ingest.sources import RawRecord
from kb.lifecycle import ItemDraft
from kb.models import Audience, Kind, Level, Section, Tag, TagSource, Unit, VersionContent
from kb.sections import required_sections
from kb.text import normalize

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,126}[a-z0-9]$")
EXTRA_KEYS = ("eligibility", "mianshen", "amount")


MAX_ITEM_CHARS = 100_000  # one item's sections together; a guide is a few thousand characters
# The same 1-8 characters 200 times in a row: no guide reads like that, and jieba chokes on it.
REPEATED = re.compile(r"(.{1,8}?)\1{199,}", re.DOTALL)


def check_size(path: str, sections: Sequence[tuple[str, str]]) -> None:
    """Refuse an item that is too long or a section of (nearly) one repeated character before it reaches jieba:
    such text is never real guidance and tokenising it can take minutes and gigabytes (issue 16)."""
    total = sum(len(h) + len(t) for h, t in sections)
    if total > MAX_ITEM_CHARS:
        raise SourceError(path, f"内容过长：{total} 字，每条知识最多 {MAX_ITEM_CHARS} 字 (item too long)", "sections",
                          "拆分为多条知识后再导入")
    for heading, text in sections:
        if REPEATED.search(text):
            raise SourceError(path, f"“{heading.strip()[:20]}”一节内容异常：大段重复字符 (repeated characters)",
                              "sections", "检查源文件是否损坏，改正后再导入")


def to_draft(rec: RawRecord, units: dict[str, Unit], guide_sections: Sequence[str]) -> ItemDraft:
    m, path = rec.meta, rec.path
    item_id = _req(m, "id", path)
    if not isinstance(item_id, str) or not ID_RE.match(item_id):
        raise SourceError(path, f"invalid id {item_id!r}", "id", "use lowercase letters, digits and hyphens")
    try:
        kind = Kind(_req(m, "kind", path))
    except ValueError:
        raise SourceError(path, f"unknown kind {m.get('kind')!r}", "kind",
                          "use one of guide, policy, review_point, faq") from None
    title = str(_req(m, "title", path)).strip()
    owner = str(_req(m, "owner", path))
    unit = units.get(owner)
    if unit is None:
        raise SourceError(path, f"unknown owner unit {owner!r}", "owner", "use a unit id from units.yaml")
    try:
        level = Level(m["level"]) if m.get("level") else unit.level
    except ValueError:
        raise SourceError(path, f"unknown level {m.get('level')!r}", "level", "use 市, 区 or 街镇") from None
    aud_raw = m.get("audience") or []
    aud_list = [aud_raw] if isinstance(aud_raw, str) else list(aud_raw)
    try:
        audience = tuple(Audience(a) for a in aud_list)
    except ValueError:
        raise SourceError(path, f"unknown audience {aud_raw!r}", "audience", "use 个人 and/or 法人") from None
    if not audience:
        raise SourceError(path, "audience is missing", "audience", "add 'audience: 个人' or '法人'")
    effective_from = _date(m, "effective_from", path, required=True)
    expires_at = _date(m, "expires_at", path)
    review_due = _date(m, "review_due", path)
    assert effective_from is not None
    if expires_at and expires_at <= effective_from:
        raise SourceError(path, f"expires_at {expires_at} is not after effective_from {effective_from}", "expires_at",
                          "correct the dates")
    check_size(path, rec.sections)
    sections = tuple(Section(heading=h.strip(), text=normalize(t)) for h, t in rec.sections if h.strip())
    headings = {s.heading for s in sections if s.text}
    required = required_sections(kind, guide_sections)
    missing = [h for h in required if h not in headings]
    if missing:
        raise SourceError(path, f"a {kind.value} needs the section(s) {', '.join(missing)}", "sections",
                          "add them as '## " + "', '## ".join(missing) + "' headings with text")
    if kind == Kind.POLICY and not m.get("doc_number"):
        raise SourceError(path, "a policy needs its 文号", "doc_number", "add 'doc_number: 沪府规〔2024〕1号'")
    extra = {k: m[k] for k in EXTRA_KEYS if k in m}
    content = VersionContent(
        title=normalize(title), sections=sections, doc_number=m.get("doc_number"), issuer=m.get("issuer"),
        extra=extra,
    )
    tags_raw = m.get("tags") or []
    if isinstance(tags_raw, str):
        tags_raw = [tags_raw]
    retire = m.get("retired")
    if retire is not None and not isinstance(retire, dict):
        retire = {"reason": str(retire), "replaced_by": None}
    return ItemDraft(
        id=item_id, kind=kind, owner=owner, level=level, audience=audience, content=content,
        effective_from=effective_from, expires_at=expires_at, review_due=review_due,
        tags=tuple(Tag(tag=str(t), source=TagSource.AUTHOR) for t in tags_raw),
        related=tuple(str(r) for r in (m.get("related") or [])),
        change_note=str(m.get("change_note") or ""), source_path=rec.path, retire=retire,
    )


def _req(m: dict[str, Any], key: str, path: str) -> Any:
    value = m.get(key)
    if value is None or value == "":
        raise SourceError(path, "is missing", key, f"add '{key}:' to the front matter")
    return value


def _date(m: dict[str, Any], key: str, path: str, required: bool = False) -> dt.date | None:
    value = m.get(key)
    if value is None or value == "":
        if required:
            raise SourceError(path, "is missing", key, f"add '{key}: YYYY-MM-DD'")
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise SourceError(path, f"invalid date {value!r}", key, "write it as YYYY-MM-DD, e.g. 2025-01-01") from None
