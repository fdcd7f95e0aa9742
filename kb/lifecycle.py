"""Knowledge lifecycle: draft -> in_review -> approved -> published -> retired, with four-eyes and cut-over."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Sequence

from pydantic import Field

from kb.errors import InvalidContentError, LifecycleError, NotFoundError, PermissionDeniedError
from kb.events import EventSink, NullSink
from kb.indexer import IndexWriter
from kb.models import (
    Actor,
    Audience,
    ItemStatus,
    ItemVersion,
    Kind,
    KnowledgeItem,
    Level,
    LiveVersion,
    Tag,
    Value,
    VersionContent,
    VersionMeta,
    VersionState,
)
from kb.sections import missing_sections
from kb.settings import DEFAULT_GUIDE_SECTIONS
from kb.store import SqlStore, utcnow

log = logging.getLogger(__name__)


def content_hash(content: VersionContent) -> str:
    """Hash of the normalised content only; owner, tags and dates do not change it."""
    blob = json.dumps(content.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ItemDraft(Value):
    """Everything needed to propose a new version of an item (new or existing)."""

    id: str
    kind: Kind
    owner: str
    level: Level
    audience: tuple[Audience, ...]
    content: VersionContent
    effective_from: dt.date
    expires_at: dt.date | None = None
    review_due: dt.date | None = None
    tags: tuple[Tag, ...] = ()
    related: tuple[str, ...] = ()
    change_note: str = ""
    source_path: str | None = None
    retire: dict[str, str | None] | None = Field(default=None)


class KnowledgeService:
    """The only way knowledge changes. Every transition is checked, recorded and audited."""

    def __init__(
        self, store: SqlStore, writer: IndexWriter, events: EventSink | None = None, four_eyes: bool = True,
        guide_sections: Sequence[str] = DEFAULT_GUIDE_SECTIONS,
    ) -> None:
        self.store = store
        self.writer = writer
        self.events = events or NullSink()
        self.four_eyes = four_eyes
        self.guide_sections = tuple(guide_sections)

    # -- authoring -------------------------------------------------------------------------------
    def propose(self, draft: ItemDraft, actor: Actor) -> ItemVersion:
        return self._propose(draft, actor)

    def _propose(self, draft: ItemDraft, actor: Actor, meta: VersionMeta | None = None) -> ItemVersion:
        """Add a draft version (creating the item if new). Earlier unpublished drafts are withdrawn.

        Nothing live changes here: the draft's metadata (owner, level, audience, tags, related, source) is
        stored with the version and applied by `publish`, after the same four-eyes approval as its content.
        Only a brand-new item takes its first draft's metadata, and it is not live until published."""
        if self.store.unit(draft.owner) is None:
            raise InvalidContentError(f"unknown owner unit {draft.owner!r}; add it to units.yaml first")
        if not actor.may_change(draft.owner):
            raise PermissionDeniedError(f"{actor.id!r} may not author items of unit {draft.owner!r} (谁录入谁负责)")
        if draft.expires_at and draft.expires_at <= draft.effective_from:
            raise InvalidContentError(
                f"expires_at {draft.expires_at} must be after effective_from {draft.effective_from}"
            )
        now = utcnow()
        existing = self.store.find_item(draft.id)
        with self.store.tx() as conn:
            if existing is None:
                meta = VersionMeta(owner=draft.owner, level=draft.level, audience=draft.audience, tags=draft.tags,
                                   related=draft.related, source_path=draft.source_path)
                item = KnowledgeItem(
                    id=draft.id, kind=draft.kind, title=draft.content.title, owner=draft.owner, level=draft.level,
                    audience=draft.audience, tags=draft.tags, related=draft.related, status=ItemStatus.DRAFT,
                    latest_version=0, source_path=draft.source_path, created_at=now, updated_at=now,
                )
                self.store.insert_item(item, conn)
                number = 1
            else:
                if not actor.may_change(existing.owner):
                    raise PermissionDeniedError(
                        f"{actor.id!r} may not change {existing.id!r}, owned by {existing.owner!r} (谁录入谁负责)"
                    )
                if existing.kind != draft.kind:
                    raise InvalidContentError(f"{draft.id!r} is a {existing.kind.value}, not a {draft.kind.value}")
                meta = meta or VersionMeta(owner=draft.owner, level=draft.level, audience=draft.audience,
                                           tags=tuple(_merge_tags(existing, draft.tags)), related=draft.related,
                                           source_path=draft.source_path or existing.source_path)
                number = existing.latest_version + 1
                for v in self.store.list_versions(draft.id):
                    if v.state in (VersionState.DRAFT, VersionState.IN_REVIEW, VersionState.APPROVED):
                        self.store.set_version_state(draft.id, v.number, VersionState.WITHDRAWN, conn)
            version = ItemVersion(
                item_id=draft.id, number=number, content=draft.content, content_hash=content_hash(draft.content),
                state=VersionState.DRAFT, author=actor.id, change_note=draft.change_note,
                effective_from=draft.effective_from, expires_at=draft.expires_at, review_due=draft.review_due,
                created_at=now, meta=meta,
            )
            self.store.insert_version(version, conn)
            fields: dict[str, object] = dict(latest_version=number)
            if existing is not None and existing.status == ItemStatus.DRAFT:
                fields["title"] = draft.content.title  # never published: the list shows the newest draft's title
            self.store.update_item(draft.id, conn, **fields)
        changes = VersionMeta.of_item(existing).differences(meta) if existing is not None else {}
        self.events.record("knowledge.drafted", actor.id, f"{draft.id}:{number}",
                           {"content_hash": version.content_hash, "change_note": draft.change_note,
                            "metadata_changes": {k: list(v) for k, v in changes.items()}})
        return version

    def submit(self, item_id: str, number: int, actor: Actor) -> ItemVersion:
        item, v = self._load(item_id, number, actor)
        if v.state != VersionState.DRAFT:
            raise LifecycleError(f"{item_id} v{number} is {v.state.value}; only a draft can be submitted")
        missing = missing_sections(v.content, item.kind, self.guide_sections)
        if missing:
            raise InvalidContentError(
                f"缺少必填章节：{'、'.join(missing)}。请补全后另存草稿再提交审核。"
                f"({item_id} v{number} lacks the required section(s) {', '.join(missing)})"
            )
        self.store.set_version_state(item_id, number, VersionState.IN_REVIEW, submitted_by=actor.id)
        if item.status == ItemStatus.DRAFT:
            self.store.update_item(item_id, status=ItemStatus.IN_REVIEW.value)
        self.events.record("knowledge.submitted", actor.id, f"{item_id}:{number}", {})
        return self.store.get_version(item_id, number)

    def reject(self, item_id: str, number: int, actor: Actor, reason: str) -> ItemVersion:
        """A reviewer sends a version under review (or approved, not yet live) back, with a reason its author
        reads. Nothing live changes; the unit proposes a corrected draft."""
        item, v = self._load(item_id, number, actor)
        if v.state not in (VersionState.IN_REVIEW, VersionState.APPROVED):
            raise LifecycleError(f"{item_id} v{number} is {v.state.value}; only a version under review can be rejected")
        if self.four_eyes and actor.id == v.author:
            raise PermissionDeniedError(
                f"four-eyes: {actor.id!r} wrote {item_id} v{number}; withdraw it instead of rejecting it")
        if not reason.strip():
            raise InvalidContentError("退回需要填写原因，作者会看到它。(rejecting needs a reason the author reads)")
        self._close(item, v, VersionState.REJECTED, reason.strip())
        self.events.record("knowledge.rejected", actor.id, f"{item_id}:{number}",
                           {"reason": reason.strip(), "author": v.author})
        return self.store.get_version(item_id, number)

    def withdraw(self, item_id: str, number: int, actor: Actor, reason: str = "") -> ItemVersion:
        """The owner unit takes back a draft, or a version under review or approved, before it goes live."""
        item, v = self._load(item_id, number, actor)
        if v.state not in (VersionState.DRAFT, VersionState.IN_REVIEW, VersionState.APPROVED):
            raise LifecycleError(f"{item_id} v{number} is {v.state.value}; only an unpublished version can be withdrawn")
        self._close(item, v, VersionState.WITHDRAWN, reason.strip() or None)
        self.events.record("knowledge.withdrawn", actor.id, f"{item_id}:{number}", {"reason": reason.strip()})
        return self.store.get_version(item_id, number)

    def _close(self, item: KnowledgeItem, v: ItemVersion, state: VersionState, note: str | None) -> None:
        with self.store.tx() as conn:
            self.store.set_version_state(item.id, v.number, state, conn, review_note=note)
            if item.current_version is None and item.status == ItemStatus.IN_REVIEW:
                self.store.update_item(item.id, conn, status=ItemStatus.DRAFT.value)  # never live: back to draft

    def approve(self, item_id: str, number: int, actor: Actor) -> ItemVersion:
        item, v = self._load(item_id, number, actor)
        if v.state != VersionState.IN_REVIEW:
            raise LifecycleError(f"{item_id} v{number} is {v.state.value}; submit it for review first")
        if self.four_eyes and actor.id in (v.author,):
            raise PermissionDeniedError(
                f"four-eyes: {actor.id!r} wrote {item_id} v{number} and may not approve it; ask another reviewer"
            )
        self.store.set_version_state(item_id, number, VersionState.APPROVED, approved_by=actor.id)
        self.events.record("knowledge.approved", actor.id, f"{item_id}:{number}", {"author": v.author})
        return self.store.get_version(item_id, number)

    def publish(self, item_id: str, number: int, actor: Actor) -> ItemVersion:
        """Cut-over: write new chunks, verify, switch the live pointer, then delete the old chunks."""
        return self.publish_many([(item_id, number)], actor)[0]

    def publish_many(self, targets: list[tuple[str, int]], actor: Actor) -> list[ItemVersion]:
        """Publish several versions with one index write. Each item still switches atomically: until the
        switch its old version answers; after it, only the new one (old chunks are filtered, then deleted)."""
        staged: list[tuple[KnowledgeItem, ItemVersion, LiveVersion]] = []
        for item_id, number in targets:
            item, v = self._load(item_id, number, actor)
            if v.state != VersionState.APPROVED and (
                self.four_eyes or v.state not in (VersionState.DRAFT, VersionState.IN_REVIEW)
            ):
                raise LifecycleError(
                    f"{item_id} v{number} is {v.state.value}; it must be approved by a second person before publishing"
                )
            if item.status == ItemStatus.RETIRED:
                raise LifecycleError(f"{item_id} is retired; propose a new item instead")
            meta = effective_meta(item, v)
            if meta.owner != item.owner and self.store.unit(meta.owner) is None:
                raise InvalidContentError(f"{item_id} v{number} names unknown owner unit {meta.owner!r}")
            tags = tuple(_live_tags(item, meta))
            live = LiveVersion(
                item_id=item_id, version=number, kind=item.kind, title=v.content.title, owner=meta.owner,
                level=meta.level, audience=meta.audience, tags=tuple(t.tag for t in tags),
                effective_from=v.effective_from, expires_at=v.expires_at, content_hash=v.content_hash,
            )
            staged.append((item, v, live))
        if not staged:
            return []
        self.writer.write_versions([lv for _, _, lv in staged])  # 1. new chunks beside the old ones, verified
        with self.store.tx() as conn:  # 2. the switch is one transaction
            for item, v, _ in staged:
                if item.current_version and item.current_version != v.number:
                    self.store.set_version_state(item.id, item.current_version, VersionState.SUPERSEDED, conn)
                self.store.set_version_state(
                    item.id, v.number, VersionState.PUBLISHED, conn, published_at=utcnow(),
                    approved_by=v.approved_by or actor.id,
                )
                meta = effective_meta(item, v)  # the approved metadata goes live with the approved content
                self.store.update_item(
                    item.id, conn, status=ItemStatus.PUBLISHED.value, current_version=v.number, title=v.content.title,
                    owner=meta.owner, level=meta.level.value, audience=list(meta.audience),
                    tags=_live_tags(item, meta), related=list(meta.related), source_path=meta.source_path,
                    removed_tags=sorted((set(item.removed_tags) | set(meta.tags_removed)) - set(meta.tags_added)),
                )
            self.store.bump_generation(conn)
        self.writer.remove_others({item.id: v.number for item, v, _ in staged})  # 3. old chunks go last
        for item, v, _ in staged:
            changes = VersionMeta.of_item(item).differences(effective_meta(item, v))
            self.events.record(
                "knowledge.published", actor.id, f"{item.id}:{v.number}",
                {"content_hash": v.content_hash, "previous": item.current_version, "approved_by": v.approved_by,
                 "metadata_changes": {k: list(c) for k, c in changes.items()}},
            )
        return [self.store.get_version(item.id, v.number) for item, v, _ in staged]

    def approve_waived(self, item_id: str, number: int, actor: Actor, reason: str) -> None:
        """Submit and approve in one step: only for admins (bulk loads), recorded as a four-eyes waiver."""
        if self.four_eyes and not actor.admin:
            raise PermissionDeniedError(f"{actor.id!r} may not publish without a second approver (four-eyes)")
        v = self.store.get_version(item_id, number)
        if v.state == VersionState.DRAFT:
            self.submit(item_id, number, actor)
        if self.store.get_version(item_id, number).state == VersionState.IN_REVIEW:
            self.store.set_version_state(item_id, number, VersionState.APPROVED, approved_by=actor.id)
            self.events.record("knowledge.approved", actor.id, f"{item_id}:{number}", {"waiver": reason})

    def publish_direct(self, item_id: str, number: int, actor: Actor, reason: str = "direct publish") -> ItemVersion:
        self.approve_waived(item_id, number, actor, reason)
        return self.publish(item_id, number, actor)

    def retire(self, item_id: str, actor: Actor, reason: str, replaced_by: str | None = None) -> KnowledgeItem:
        item = self.store.get_item(item_id)
        if not actor.may_change(item.owner):
            raise PermissionDeniedError(
                f"{actor.id!r} may not retire {item_id!r}, owned by {item.owner!r} (谁录入谁负责)"
            )
        if item.status == ItemStatus.RETIRED:
            raise LifecycleError(f"{item_id} is already retired")
        if not reason.strip():
            raise LifecycleError("retiring needs a reason (退出原因)")
        if replaced_by and self.store.find_item(replaced_by) is None:
            raise NotFoundError(f"replacement item {replaced_by!r} does not exist")
        with self.store.tx() as conn:
            if item.current_version:
                self.store.set_version_state(item_id, item.current_version, VersionState.RETIRED, conn)
            self.store.update_item(
                item_id, conn, status=ItemStatus.RETIRED.value, retired_reason=reason, replaced_by=replaced_by
            )
            self.store.bump_generation(conn)
        self.writer.remove_other_versions(item_id, keep=None)
        self.events.record("knowledge.retired", actor.id, item_id, {"reason": reason, "replaced_by": replaced_by})
        return self.store.get_item(item_id)

    def set_tags(self, item_id: str, actor: Actor, add: list[str] = [], remove: list[str] = []) -> ItemVersion:  # noqa: B006
        """Owners accept (add) or remove tags. Like any metadata change this is a draft version: the live item,
        what retrieval filters on and what answers cite, change only when a second person approves and it is
        published. The draft carries the newest open draft's content (or the live version's) forward, so a tag
        edit joins pending work instead of discarding it. Removed machine tags stay removed after publish."""
        item = self.store.get_item(item_id)
        if not actor.may_change(item.owner):
            raise PermissionDeniedError(f"{actor.id!r} may not tag {item_id!r}, owned by {item.owner!r} (谁录入谁负责)")
        if item.status == ItemStatus.RETIRED:
            raise LifecycleError(f"{item_id} is retired; its tags no longer matter")
        add, remove = [t.strip() for t in add if t.strip()], [t.strip() for t in remove if t.strip()]
        if not add and not remove:
            raise InvalidContentError("no tag to add or remove")
        versions = self.store.list_versions(item_id)
        open_states = (VersionState.DRAFT, VersionState.IN_REVIEW, VersionState.APPROVED)
        pending = [v for v in versions if v.state in open_states]
        base = pending[-1] if pending else next((v for v in versions if v.number == item.current_version), None)
        if base is None:
            raise NotFoundError(f"{item_id} has no version to edit")
        meta = effective_meta(item, base)
        added = tuple(dict.fromkeys((*meta.tags_added, *add)).keys() - set(remove))
        removed = tuple(dict.fromkeys((*meta.tags_removed, *remove)).keys() - set(add))
        tags = [t for t in meta.tags if t.tag not in removed]
        names = {t.tag for t in tags}
        tags += [Tag(tag=t, source="author") for t in add if t not in names]
        new_meta = meta.model_copy(update={"tags": tuple(tags), "tags_added": tuple(sorted(added)),
                                           "tags_removed": tuple(sorted(removed))})
        note = "标签调整：" + "；".join(p for p in ("添加 " + "、".join(add) if add else "",
                                                "去掉 " + "、".join(remove) if remove else "") if p)
        draft = ItemDraft(
            id=item_id, kind=item.kind, owner=new_meta.owner, level=new_meta.level, audience=new_meta.audience,
            content=base.content, effective_from=base.effective_from, expires_at=base.expires_at,
            review_due=base.review_due, tags=new_meta.tags, related=new_meta.related,
            change_note=f"{base.change_note}；{note}" if pending and base.change_note else note,
            source_path=new_meta.source_path,
        )
        version = self._propose(draft, actor, meta=new_meta)
        self.events.record("knowledge.tagged", actor.id, f"{item_id}:{version.number}", {"add": add, "remove": remove})
        return version

    def _load(self, item_id: str, number: int, actor: Actor) -> tuple[KnowledgeItem, ItemVersion]:
        item = self.store.get_item(item_id)
        if not actor.may_change(item.owner) and not actor.admin:
            raise PermissionDeniedError(f"{actor.id!r} may not act on {item_id!r}, owned by {item.owner!r}")
        return item, self.store.get_version(item_id, number)


def effective_meta(item: KnowledgeItem, version: ItemVersion) -> VersionMeta:
    """The metadata a version goes live with: its own, or the item's for versions from before it was versioned."""
    return version.meta if version.meta is not None else VersionMeta.of_item(item)


def _live_tags(item: KnowledgeItem, meta: VersionMeta) -> list[Tag]:
    """The tags an item has once `meta` is published: merged as for any version, then an owner's explicit
    edits (a removed tag goes even if the item had it; an added one comes back even if removed before)."""
    tags = [t for t in _merge_tags(item, meta.tags) if t.tag not in meta.tags_removed]
    names = {t.tag for t in tags}
    return tags + [Tag(tag=t, source="author") for t in meta.tags_added if t not in names]


def _merge_tags(item: KnowledgeItem, incoming: tuple[Tag, ...]) -> list[Tag]:
    """Keep existing tags, add incoming ones unless an owner removed them earlier."""
    out = {t.tag: t for t in item.tags}
    for t in incoming:
        if t.tag not in item.removed_tags and t.tag not in out:
            out[t.tag] = t
    return list(out.values())
