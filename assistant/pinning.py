"""Which knowledge versions a recorded turn saw, and whether they are still intact, for `audit replay`.

Evidence, strongest first: the turn's trace (the versions it retrieved or cited, with content hashes), the
audit log (`knowledge.published` with content hashes, `knowledge.retired`, tamper-evident), then the
store's own `item_versions.published_at`. Every pinned version must still be in the store with the content
hash recorded at the time; otherwise the knowledge of that moment cannot be rebuilt and replay says so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kb.errors import NotFoundError
from kb.lifecycle import content_hash
from kb.models import ItemVersion

TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # guardrails.audit.now_ts


class EventLike(Protocol):
    @property
    def ts(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> dict[str, Any] | None: ...


class EventReader(Protocol):
    def events(self, since: Any = None, subject: str | None = None, event: str | None = None,
               limit: int | None = None) -> list[Any]: ...


class VersionReader(Protocol):
    def get_version(self, item_id: str, number: int) -> ItemVersion: ...


def parse_ts(ts: str) -> dt.datetime:
    """An audit timestamp as an aware UTC datetime (ISO strings from other clocks are accepted too)."""
    try:
        return dt.datetime.strptime(ts, TS_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        value = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class Evidence:
    """What is known about the knowledge live at moment `at`."""

    at: dt.datetime
    trace_pins: dict[str, int] = field(default_factory=dict)  # item -> version the turn retrieved or cited
    audit_pins: dict[str, int] = field(default_factory=dict)  # item -> version last published by `at`
    retired_at: dict[str, dt.datetime] = field(default_factory=dict)
    hashes: dict[tuple[str, int], list[tuple[str, str]]] = field(default_factory=dict)  # -> [(hash, source)]

    @property
    def pins(self) -> dict[str, int]:
        """The trace wins: it says what the turn actually used, even if a publish raced with it."""
        return {**self.audit_pins, **self.trace_pins}

    def source(self, item_id: str) -> str:
        return "retrieved or cited by the turn" if item_id in self.trace_pins else "live then per the audit log"


def gather_evidence(
    at_ts: str, retrieved: Iterable[Mapping[str, Any]], cited: Iterable[tuple[str, int]], audit: EventReader
) -> Evidence:
    """Collect the pins for a turn finalised at `at_ts` from its trace and the audit log."""
    ev = Evidence(at=parse_ts(at_ts))
    for r in retrieved:
        key = (str(r["item_id"]), int(r["version"]))
        ev.trace_pins[key[0]] = key[1]
        if r.get("content_hash"):
            ev.hashes.setdefault(key, []).append((str(r["content_hash"]), "the turn's trace"))
    for item, version in cited:
        ev.trace_pins.setdefault(item, version)
    for e in audit.events(event="knowledge.retired"):
        ev.retired_at.setdefault(e.subject, parse_ts(e.ts))
    for e in audit.events(event="knowledge.published"):  # in log order, so the last one by `at` wins
        item, _, number = e.subject.rpartition(":")
        if not item or not number.isdigit() or parse_ts(e.ts) > ev.at:
            continue
        ev.audit_pins[item] = int(number)
        if e.data and e.data.get("content_hash"):
            ev.hashes.setdefault((item, int(number)), []).append((str(e.data["content_hash"]), "audit log"))
    for item, gone in ev.retired_at.items():
        if gone <= ev.at:
            ev.audit_pins.pop(item, None)
    return ev


def check_pins(store: VersionReader, ev: Evidence) -> list[str]:
    """Problems that make the knowledge of `ev.at` impossible to rebuild faithfully (empty when intact)."""
    problems: list[str] = []
    for item, number in sorted(ev.pins.items()):
        try:
            v = store.get_version(item, number)
        except NotFoundError:
            problems.append(f"{item} v{number} ({ev.source(item)}) is missing from item_versions")
            continue
        for recorded, where in ev.hashes.get((item, number), ()):
            if recorded != v.content_hash:
                problems.append(f"{item} v{number} has content hash {v.content_hash[:12]}…, not {recorded[:12]}… "
                                f"as recorded in the {where}")
        if content_hash(v.content) != v.content_hash:
            problems.append(f"{item} v{number}: its stored content no longer matches its content hash "
                            "(edited in the database after it was written)")
    return problems
