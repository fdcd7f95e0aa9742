"""Pure planning: compare what the store has with what the sources say. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kb.lifecycle import ItemDraft, content_hash, effective_meta
from kb.models import ItemStatus, ItemVersion, KnowledgeItem, VersionState


class Action(StrEnum):
    CREATE = "create"
    NEW_VERSION = "new_version"
    PUBLISH_PENDING = "publish_pending"  # unchanged content whose draft is not live yet, with --publish
    RETIRE = "retire"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Existing:
    item: KnowledgeItem
    latest: ItemVersion | None


@dataclass(frozen=True)
class Step:
    action: Action
    item_id: str
    draft: ItemDraft | None = None
    version: int | None = None
    reason: str = ""


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for s in self.steps if s.action == action)


def plan_ingest(
    existing: dict[str, Existing],
    incoming: list[ItemDraft],
    *,
    publish: bool,
    retire_missing_under: str | None = None,
) -> Plan:
    plan = Plan()
    seen: set[str] = set()
    for d in incoming:
        seen.add(d.id)
        ex = existing.get(d.id)
        wants_retire = d.retire is not None
        if ex is None:
            plan.steps.append(Step(Action.CREATE, d.id, d, reason="new item"))
            if wants_retire:
                plan.steps.append(Step(Action.RETIRE, d.id, d, reason=str(d.retire.get("reason"))))  # type: ignore[union-attr]
            continue
        if ex.item.status == ItemStatus.RETIRED:
            plan.steps.append(Step(Action.UNCHANGED, d.id, reason="retired; not changed by ingest"))
            continue
        latest = ex.latest
        same_content = latest is not None and latest.content_hash == content_hash(d.content)
        same_dates = latest is not None and (latest.effective_from, latest.expires_at, latest.review_due) == (
            d.effective_from, d.expires_at, d.review_due,
        )
        changed_meta = _metadata_changes(ex.item, latest, d)
        if not (same_content and same_dates) or changed_meta:
            # Metadata goes live only with a published version, so a metadata change is a new version too.
            changed = "content" if not same_content else "dates" if not same_dates else ", ".join(changed_meta)
            plan.steps.append(Step(Action.NEW_VERSION, d.id, d, reason=f"{changed} changed"))
        elif publish and latest is not None and latest.state in (
            VersionState.DRAFT, VersionState.IN_REVIEW, VersionState.APPROVED,
        ):
            plan.steps.append(Step(Action.PUBLISH_PENDING, d.id, d, latest.number, reason="publish pending version"))
        else:
            plan.steps.append(Step(Action.UNCHANGED, d.id))
        if wants_retire:
            plan.steps.append(Step(Action.RETIRE, d.id, d, reason=str(d.retire.get("reason"))))  # type: ignore[union-attr]
    if retire_missing_under is not None:
        for item_id, ex in sorted(existing.items()):
            src = ex.item.source_path or ""
            if item_id not in seen and ex.item.status != ItemStatus.RETIRED and src.startswith(retire_missing_under):
                plan.steps.append(Step(Action.RETIRE, item_id, reason="来源文件已删除 (source file removed)"))
    return plan


def _metadata_changes(item: KnowledgeItem, latest: ItemVersion | None, d: ItemDraft) -> list[str]:
    """Names of the metadata fields (owner, level, audience, related) the source changes against the newest version.
    Tags are not compared: machine tags are re-derived on every read and merged, never removed, by a version."""
    if latest is None:
        return []
    m = effective_meta(item, latest)
    return [name for name, a, b in (("owner", m.owner, d.owner), ("level", m.level, d.level),
                                    ("audience", tuple(m.audience), tuple(d.audience)),
                                    ("related", tuple(m.related), tuple(d.related))) if a != b]
