"""Readable differences between two versions of an item, section by section."""

from __future__ import annotations

import difflib

from kb.models import ItemVersion, KnowledgeItem, Value, VersionMeta


class SectionDiff(Value):
    heading: str
    change: str  # added | removed | changed | same
    unified: str = ""
    left: str = ""
    right: str = ""


class VersionDiff(Value):
    item_id: str
    left: int
    right: int
    title_changed: bool
    dates_changed: dict[str, tuple[str | None, str | None]]
    metadata_changed: dict[str, tuple[str | None, str | None]] = {}
    sections: tuple[SectionDiff, ...]

    @property
    def changed_sections(self) -> list[str]:
        return [s.heading for s in self.sections if s.change != "same"]


def diff_versions(a: ItemVersion, b: ItemVersion, item: KnowledgeItem | None = None) -> VersionDiff:
    """Sections, dates and metadata (owner, level, audience, tags, related) that differ between two versions.
    `item` stands in for the metadata of versions written before metadata was versioned."""
    left = {s.heading: s.text for s in a.content.sections}
    right = {s.heading: s.text for s in b.content.sections}
    order = list(left) + [h for h in right if h not in left]
    out: list[SectionDiff] = []
    for h in order:
        lt, rt = left.get(h), right.get(h)
        if lt is None:
            out.append(SectionDiff(heading=h, change="added", right=rt or ""))
        elif rt is None:
            out.append(SectionDiff(heading=h, change="removed", left=lt))
        elif lt == rt:
            out.append(SectionDiff(heading=h, change="same", left=lt, right=rt))
        else:
            unified = "\n".join(
                difflib.unified_diff(
                    lt.splitlines(), rt.splitlines(), f"v{a.number}/{h}", f"v{b.number}/{h}", lineterm="", n=1
                )
            )
            out.append(SectionDiff(heading=h, change="changed", unified=unified, left=lt, right=rt))
    dates: dict[str, tuple[str | None, str | None]] = {}
    for f in ("effective_from", "expires_at", "review_due"):
        va, vb = getattr(a, f), getattr(b, f)
        if va != vb:
            dates[f] = (str(va) if va else None, str(vb) if vb else None)
    meta: dict[str, tuple[str | None, str | None]] = {}
    fallback = VersionMeta.of_item(item) if item is not None else None
    ma, mb = a.meta or fallback, b.meta or fallback
    if ma is not None and mb is not None:
        meta = ma.differences(mb)
    return VersionDiff(
        item_id=a.item_id, left=a.number, right=b.number, title_changed=a.content.title != b.content.title,
        dates_changed=dates, metadata_changed=meta, sections=tuple(out),
    )
