"""Read side of the knowledge base for the edges (API, CLI): items, versions, diffs, units, the generation."""

from __future__ import annotations

from kb.diff import VersionDiff, diff_versions
from kb.models import ItemStatus, ItemVersion, Kind, KnowledgeItem, Unit, VersionState
from kb.store import SqlStore


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
