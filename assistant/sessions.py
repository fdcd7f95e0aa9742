"""Read side of chat sessions for the edges: who holds a session, and its turns as typed records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from assistant.errors import SessionNotFoundError
from assistant.store import AssistantStore


class TurnRecord(BaseModel):
    """One persisted turn: the redacted question, the reply given at the time and the public turn result."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    idx: int
    question: str
    outcome: str
    reply: str
    result: dict[str, Any]
    created_at: dt.datetime

    def citations(self) -> list[tuple[str, int]]:
        """The (item_id, version) pairs the turn's reply cited."""
        return [(str(c["item_id"]), int(c["version"])) for c in self.result.get("citations") or []]


class SessionQueries:
    """Session ownership and history over the assistant's store; the dialogue itself never needs these."""

    def __init__(self, store: AssistantStore) -> None:
        self._store = store

    def owner(self, session_id: str) -> str | None:
        """Who a stored session belongs to: its principal, or `session:<id>` when anonymous; None if new."""
        if not self._store.exists(session_id):
            return None
        state = self._store.load(session_id)
        return state.principal_id or f"session:{session_id}"

    def require_owner(self, session_id: str) -> str:
        """The owner of an existing session, or SessionNotFoundError naming it."""
        owner = self.owner(session_id)
        if owner is None:
            raise SessionNotFoundError(f"no session {session_id!r}; start one with POST /api/v1/chat")
        return owner

    def turns(self, session_id: str) -> list[TurnRecord]:
        return [TurnRecord.model_validate(row) for row in self._store.turns(session_id)]

    def turn(self, session_id: str, turn_id: str) -> TurnRecord | None:
        """A turn of that session, or None when the session has no such turn."""
        return next((t for t in self.turns(session_id) if t.id == turn_id), None)
