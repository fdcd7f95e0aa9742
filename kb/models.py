"""Domain models of the knowledge base. Values are frozen pydantic models; closed sets are StrEnums."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Kind(StrEnum):
    GUIDE = "guide"  # 办事指南
    POLICY = "policy"  # 政策法规
    REVIEW_POINT = "review_point"  # 审查要点
    FAQ = "faq"  # 常见问答


class Level(StrEnum):
    CITY = "市"
    DISTRICT = "区"
    TOWN = "街镇"


class Audience(StrEnum):
    PERSON = "个人"
    ENTERPRISE = "法人"


class ItemStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    RETIRED = "retired"


class VersionState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"  # four-eyes approval given, not yet live
    PUBLISHED = "published"  # the live version of the item
    SUPERSEDED = "superseded"  # was published, replaced by a newer version
    RETIRED = "retired"  # was live when the item was retired
    WITHDRAWN = "withdrawn"  # a draft that never went live: replaced by a newer draft, or withdrawn by its unit
    REJECTED = "rejected"  # sent back by a reviewer with a reason (review_note); never went live


class TagSource(StrEnum):
    AUTHOR = "author"
    RULE = "rule"
    KEYWORD = "keyword"


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(Value):
    """An owner unit (谁录入谁负责)."""

    id: str
    name: str
    level: Level


class Section(Value):
    """One titled section of an item's content, e.g. 申请材料."""

    heading: str
    text: str


class VersionContent(Value):
    """The normalised, hashable part of a version: only this decides re-embedding."""

    title: str
    sections: tuple[Section, ...]
    doc_number: str | None = None  # 文号
    issuer: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)  # kind-specific structured data (eligibility, amount)

    def section(self, heading: str) -> str | None:
        for s in self.sections:
            if s.heading == heading:
                return s.text
        return None


class Tag(Value):
    tag: str
    source: TagSource = TagSource.AUTHOR
    reason: str | None = None


class KnowledgeItem(Value):
    id: str
    kind: Kind
    title: str
    owner: str
    level: Level
    audience: tuple[Audience, ...]
    tags: tuple[Tag, ...] = ()
    removed_tags: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    status: ItemStatus
    current_version: int | None = None  # the published (live) version
    latest_version: int = 0
    retired_reason: str | None = None
    replaced_by: str | None = None
    source_path: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class VersionMeta(Value):
    """Item metadata proposed with a version. It goes live only when that version is published, so a saved
    draft never moves an item to another unit or changes who it is for (four-eyes like the content)."""

    owner: str
    level: Level
    audience: tuple[Audience, ...]
    tags: tuple[Tag, ...] = ()
    related: tuple[str, ...] = ()
    source_path: str | None = None
    tags_added: tuple[str, ...] = ()  # an owner's explicit tag edit (set_tags): applied only at publish
    tags_removed: tuple[str, ...] = ()

    @classmethod
    def of_item(cls, item: KnowledgeItem) -> VersionMeta:
        return cls(owner=item.owner, level=item.level, audience=item.audience, tags=item.tags, related=item.related,
                   source_path=item.source_path)

    def differences(self, other: VersionMeta) -> dict[str, tuple[str | None, str | None]]:
        """Fields that differ, as readable strings (left, right); what a reviewer sees in the diff."""
        out: dict[str, tuple[str | None, str | None]] = {}
        for name in ("owner", "level", "audience", "tags", "related", "source_path"):
            a, b = _readable(getattr(self, name)), _readable(getattr(other, name))
            if a != b:
                out[name] = (a, b)
        return out


def _readable(value: object) -> str | None:
    if isinstance(value, tuple):
        return "、".join(v.tag if isinstance(v, Tag) else str(v) for v in value) or None
    return None if value is None else str(value)


class ItemVersion(Value):
    item_id: str
    number: int
    content: VersionContent
    content_hash: str
    state: VersionState
    author: str
    change_note: str = ""
    effective_from: dt.date
    expires_at: dt.date | None = None
    review_due: dt.date | None = None
    submitted_by: str | None = None
    approved_by: str | None = None
    published_at: dt.datetime | None = None
    created_at: dt.datetime
    meta: VersionMeta | None = None  # None only for rows written before metadata was versioned: the item's applies
    review_note: str | None = None  # why it was rejected or withdrawn

    def in_force(self, as_of: dt.date) -> bool:
        return self.effective_from <= as_of and (self.expires_at is None or as_of < self.expires_at)


class Chunk(Value):
    """A retrievable passage of one item version. id is `item:version:index`."""

    id: str
    item_id: str
    version: int
    index: int
    section: str
    text: str
    text_hash: str


class LiveVersion(Value):
    """What the query-time filter needs about an item's published version."""

    item_id: str
    version: int
    kind: Kind
    title: str
    owner: str
    level: Level
    audience: tuple[Audience, ...]
    tags: tuple[str, ...]
    effective_from: dt.date
    expires_at: dt.date | None
    content_hash: str

    def in_force(self, as_of: dt.date) -> bool:
        return self.effective_from <= as_of and (self.expires_at is None or as_of < self.expires_at)


class SearchFilters(Value):
    as_of: dt.date | None = None
    kinds: tuple[Kind, ...] = ()
    owners: tuple[str, ...] = ()
    audience: Audience | None = None
    levels: tuple[Level, ...] = ()
    tags: tuple[str, ...] = ()
    item_ids: tuple[str, ...] = ()


class ScoreParts(Value):
    """Why a hit scored as it did, kept for traces."""

    bm25: float | None = None
    bm25_rank: int | None = None
    dense: float | None = None
    dense_rank: int | None = None
    kind_weight: float = 1.0
    fused: float = 0.0


class SearchHit(Value):
    chunk_id: str
    item_id: str
    version: int
    kind: Kind
    title: str
    owner: str
    section: str
    text: str
    score: float
    parts: ScoreParts
    content_hash: str


class Actor(Value):
    """Who is acting on knowledge. Roles live in guardrails; here only unit scope and admin matter."""

    id: str
    units: tuple[str, ...] = ()
    admin: bool = False

    def may_change(self, owner: str) -> bool:
        return self.admin or owner in self.units
