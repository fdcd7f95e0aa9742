"""Chat sessions for the edges: who holds a session, which session a client's id names, and its turns.

The server issues session ids. What a client sends (`session_id` of the chat API, `user` of the OpenAI-compatible
API) names a session only within the caller's own scope: the caller's own session with that id, or the caller's
session labelled with it, or else a new server-issued session labelled with it. A stranger who sends someone
else's id, or a shared name like `wang.fang`, gets a session of their own, never the other person's.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from assistant.errors import InvalidSessionIdError, SessionNotFoundError
from assistant.ports import AuditPort
from assistant.store import AssistantStore, new_session_id

# A label is a short plain name: letters (any script), digits and . _ - @ : + ; it starts with a letter or digit,
# so paths ("../../etc", "a/b"), spaces and control characters are refused.
LABEL = re.compile(r"[^\W_][\w.@:+-]{0,63}")


def check_label(label: str) -> str:
    """The label as given, or InvalidSessionIdError with a message a person can act on (in Chinese)."""
    if not LABEL.fullmatch(label) or ".." in label:
        shown = label[:40] + ("…" if len(label) > 40 else "")
        raise InvalidSessionIdError(
            f"会话编号 {shown!r} 格式不正确：只能由字母、数字和 . _ - @ : + 组成，以字母或数字开头，不超过64个字符。"
            "不传会话编号即可开始新对话，服务器会返回新的编号。")
    return label


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

    def __init__(self, store: AssistantStore, audit: AuditPort | None = None) -> None:
        self._store = store
        self._audit = audit

    def owner(self, session_id: str) -> str | None:
        """Who a stored session belongs to: its principal, or the anonymous visitor holding it (`session:<id>` for an
        anonymous session from before visitors, which no caller holds); None if new."""
        if not self._store.exists(session_id):
            return None
        state = self._store.load(session_id)
        return state.principal_id or state.visitor or f"session:{session_id}"

    def require_owner(self, session_id: str) -> str:
        """The owner of an existing session, or SessionNotFoundError naming it."""
        owner = self.owner(session_id)
        if owner is None:
            raise SessionNotFoundError(f"no session {session_id!r}; start one with POST /api/v1/chat")
        return owner

    def resolve(self, owner: str, requested: str | None) -> tuple[str, str | None]:
        """The session a caller's id names, within the caller's scope: (session id, label for a new session)."""
        if requested is None:
            return new_session_id(), None
        check_label(requested)
        if self.owner(requested) == owner:
            return requested, None
        found = self._store.find(owner, requested)
        return (found, requested) if found is not None else (new_session_id(), requested)

    def latest(self, owner: str) -> str | None:
        """The caller's most recently used session (restores the chat page on another device)."""
        return self._store.find(owner)

    def claim(self, session_id: str, visitor: str, principal_id: str, profile_id: str | None) -> bool:
        """After logging in on the same browser: the anonymous session held by `visitor` becomes the account's, so the
        filled form carries over. False (and nothing changes) when that browser does not hold the session."""
        if not self._store.exists(session_id) or self.owner(session_id) != visitor:
            return False
        self._store.reassign(session_id, principal_id, profile_id)
        if self._audit is not None:  # who took over which anonymous session (the visitor hash is no personal data)
            self._audit.append("session.claimed", principal_id, session_id, {"from": visitor},
                               data_subject=principal_id)
        return True

    def last_turn_id(self, session_id: str) -> str | None:
        rows = self._store.turns(session_id)
        return str(rows[-1]["id"]) if rows else None

    def phase(self, session_id: str) -> str | None:
        return self._store.load(session_id).phase.value if self._store.exists(session_id) else None

    def turns(self, session_id: str) -> list[TurnRecord]:
        return [TurnRecord.model_validate(row) for row in self._store.turns(session_id)]

    def turn(self, session_id: str, turn_id: str) -> TurnRecord | None:
        """A turn of that session, or None when the session has no such turn."""
        return next((t for t in self.turns(session_id) if t.id == turn_id), None)
