"""Domain events leave the knowledge core through this seam; guardrails' audit log implements it."""

from __future__ import annotations

from typing import Any, Protocol


class EventSink(Protocol):
    def record(self, event: str, actor: str, subject: str, data: dict[str, Any]) -> None: ...


class NullSink:
    def record(self, event: str, actor: str, subject: str, data: dict[str, Any]) -> None:
        return None


class MemorySink:
    """Keeps events in a list (tests, dry runs)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, dict[str, Any]]] = []

    def record(self, event: str, actor: str, subject: str, data: dict[str, Any]) -> None:
        self.events.append((event, actor, subject, data))
