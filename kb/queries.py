"""Read side of the knowledge base for the edges (API, CLI): items, versions, diffs, units, the generation."""

from __future__ import annotations

import datetime as dt

from kb.diff import VersionDiff, diff_versions
from kb.models import ItemStatus, ItemVersion, Kind, KnowledgeItem, Unit, Value, VersionState
from kb.store import SqlStore

DUE_REASONS = {"expired": "已失效", "expiring": "即将失效", "review_overdue": "复审已逾期", "review_due": "复审将到期"}


class DueItem(Value):
    """A live item its owner must look at: review date or expiry within the window (谁录入谁负责)."""

    item_id: str
    title: str
    owner: str
    owner_name: str
    version: int
    reason: str  # expired | expiring | review_overdue | review_due
    reason_label: str
    date: dt.date
    days_left: int


class KnowledgeQueries:
    """Everything the edges read from the knowledge store, so no route or command reaches the store itself."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def list_items(self, *, owner: str | None = None, kind: Kind | None = None,
                   status: ItemStatus | None = None) -> list[KnowledgeItem]:
        return self._store.list_items(owner=owner, kind=kind, status=status)

    def is_empty(self) -> bool:
        return not self._store.list_items()

    def get_item(self, item_id: str) -> KnowledgeItem:
        """The item, or NotFoundError naming it."""
        return self._store.get_item(item_id)

    def find_item(self, item_id: str) -> KnowledgeItem | None:
        return self._store.find_item(item_id)

    def list_versions(self, item_id: str) -> list[ItemVersion]:
        return self._store.list_versions(item_id)

    def pending_versions(self) -> dict[str, tuple[int, VersionState]]:
        """Item id -> (number, state) of its draft, in-review or approved version, if it has one."""
        return self._store.pending_versions()

    def get_version(self, item_id: str, number: int) -> ItemVersion:
        return self._store.get_version(item_id, number)

    def diff(self, item_id: str, left: int, right: int) -> VersionDiff:
        return diff_versions(self.get_version(item_id, left), self.get_version(item_id, right),
                             self.get_item(item_id))

    def due(self, within_days: int = 30, *, today: dt.date | None = None,
            owners: tuple[str, ...] | None = None) -> list[DueItem]:
        """Published items whose expiry or review-by date falls within `within_days` (or has passed), per owner,
        soonest first. `owners` narrows to the given units (an owner's inbox)."""
        today = today or dt.date.today()
        horizon = today + dt.timedelta(days=max(0, within_days))
        names = {u.id: u.name for u in self._store.list_units()}
        out: list[DueItem] = []
        for item in self._store.list_items(status=ItemStatus.PUBLISHED):
            if item.current_version is None or (owners is not None and item.owner not in owners):
                continue
            v = self._store.get_version(item.id, item.current_version)
            for when, late, soon in ((v.expires_at, "expired", "expiring"),
                                     (v.review_due, "review_overdue", "review_due")):
                if when is None or when > horizon:
                    continue
                reason = late if when <= today else soon
                out.append(DueItem(item_id=item.id, title=item.title, owner=item.owner,
                                   owner_name=names.get(item.owner, item.owner), version=v.number, reason=reason,
                                   reason_label=DUE_REASONS[reason], date=when, days_left=(when - today).days))
        return sorted(out, key=lambda d: (d.owner, d.date, d.item_id))

    def unit(self, unit_id: str) -> Unit | None:
        return self._store.unit(unit_id)

    def units(self) -> list[Unit]:
        return self._store.list_units()

    def unit_name(self, unit_id: str) -> str:
        """The unit's name, or its id when the unit is not registered."""
        found = self._store.unit(unit_id)
        return found.name if found is not None else unit_id

    def generation(self) -> int:
        """Bumped by every publish and retirement; workers compare it to know their index is current."""
        return self._store.generation()
