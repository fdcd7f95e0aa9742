"""The sections each kind of item must have: ingest refuses a source without them, and a draft without them
cannot be submitted for review (so an owner cannot gut a guide by saving one section)."""

from __future__ import annotations

from collections.abc import Sequence

from kb.models import Kind, VersionContent
from kb.settings import DEFAULT_GUIDE_SECTIONS

KIND_SECTIONS: dict[Kind, tuple[str, ...]] = {
    Kind.POLICY: ("政策概述", "支持内容"),
    Kind.REVIEW_POINT: ("审查内容",),
    Kind.FAQ: ("答复",),
}


def required_sections(kind: Kind, guide_sections: Sequence[str] = DEFAULT_GUIDE_SECTIONS) -> tuple[str, ...]:
    return tuple(guide_sections) if kind == Kind.GUIDE else KIND_SECTIONS[kind]


def missing_sections(content: VersionContent, kind: Kind,
                     guide_sections: Sequence[str] = DEFAULT_GUIDE_SECTIONS) -> list[str]:
    """Required headings that are absent or empty, in their required order."""
    return [h for h in required_sections(kind, guide_sections) if not (content.section(h) or "").strip()]
