"""Sessions, turns, consents and hand-offs in SQL (SQLAlchemy Core, portable). Tables on the one
`kb.schema.metadata`, made by the migrations. A session's state is one JSON document rewritten after every turn, so a
conversation survives a restart; turns are append-only."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from assistant.errors import SessionBusyError, SessionNotFoundError
from assistant.models import TurnResult, handoff_queue_key
from assistant.state import SessionState
from kb.schema import metadata

sessions = sa.Table(
    "assistant_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("profile_id", sa.String(128), nullable=True),
    sa.Column("principal_id", sa.String(128), nullable=True),
    sa.Column("phase", sa.String(32), nullable=False),
    sa.Column("state", sa.JSON, nullable=False),
    sa.Column("turns", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # who holds the session: the account id, or `visitor:<hash of the cookie>` for an anonymous browser
    sa.Column("owner", sa.String(160), nullable=True, index=True),
    sa.Column("label", sa.String(64), nullable=True),  # the client's own name for it, scoped to the owner
)

turns = sa.Table(
    "assistant_turns",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), sa.ForeignKey("assistant_sessions.id"), nullable=False, index=True),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("question", sa.Text, nullable=False),  # redacted
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("reply", sa.Text, nullable=False),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("trace", sa.JSON, nullable=False),
    sa.Column("ms", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("session_id", "idx", name="uq_assistant_turn_idx"),
)

consents = sa.Table(
    "assistant_consents",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("turn_id", sa.String(64), nullable=False),
    sa.Column("profile_id", sa.String(128), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("scope", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

turn_states = sa.Table(
    "assistant_turn_states",  # the session state each turn started from, for `qingsong audit replay`
    metadata,
    sa.Column("turn_id", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("state", sa.JSON, nullable=False),
)

handoffs = sa.Table(
    "assistant_handoffs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("session_id", sa.String(64), nullable=False, index=True),
    sa.Column("turn_id", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("conversation", sa.JSON, nullable=False),  # redacted questions and replies so far
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def new_session_id() -> str:
    """A session id only the server issues: 192 random bits, so holding one cannot come from guessing."""
    return f"s-{secrets.token_urlsafe(24)}"


class AssistantStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._locks: dict[str, tuple[threading.Lock, int]] = {}
        self._locks_guard = threading.Lock()

    @contextmanager
    def session_lock(self, session_id: str) -> Iterator[None]:
        """Serialise turns of one session: a thread lock in this process and, on PostgreSQL, an advisory
        lock across workers, held on its own connection for the turn (rows are written on others). On
        SQLite several processes are caught by the turn counter check in `save_turn` instead."""
        with self._locks_guard:
            lock, users = self._locks.get(session_id, (threading.Lock(), 0))
            self._locks[session_id] = (lock, users + 1)
        try:
            with lock:
                if self.engine.dialect.name != "postgresql":
                    yield
                    return
                key = {"k": f"qingsong-session:{session_id}"}
                with self.engine.connect() as conn:
                    conn.execute(sa.text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), key)
                    conn.commit()
                    try:
                        yield
                    finally:
                        conn.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), key)
                        conn.commit()
        finally:
            with self._locks_guard:
                lock, users = self._locks[session_id]
                if users <= 1:
                    del self._locks[session_id]
                else:
                    self._locks[session_id] = (lock, users - 1)

    # -- sessions ----------------------------------------------------------------------------------
    def load(self, session_id: str) -> SessionState:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sessions.c.state).where(sessions.c.id == session_id)).first()
        if row is None:
            raise SessionNotFoundError(f"no session {session_id!r}; omit --session to start a new conversation")
        return SessionState.model_validate(row.state)

    def exists(self, session_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sessions.c.id).where(sessions.c.id == session_id)).first() is not None

    def find(self, owner: str, label: str | None = None) -> str | None:
        """The owner's most recently used session (with that label, when given), or None."""
        q = sa.select(sessions.c.id).where(sessions.c.owner == owner)
        if label is not None:
            q = q.where(sessions.c.label == label)
        with self.engine.connect() as conn:
            row = conn.execute(q.order_by(sessions.c.updated_at.desc()).limit(1)).first()
        return str(row.id) if row is not None else None

    def reassign(self, session_id: str, principal_id: str, profile_id: str | None) -> None:
        """Hand an anonymous session to the account that just logged in on the same browser."""
        with self.session_lock(session_id):
            state = self.load(session_id)
            state.principal_id, state.visitor = principal_id, None
            state.profile_id = state.profile_id or profile_id
            with self.engine.begin() as conn:
                conn.execute(sessions.update().where(sessions.c.id == session_id).values(
                    principal_id=principal_id, profile_id=state.profile_id, owner=principal_id,
                    state=state.model_dump(mode="json"), updated_at=_now()))

    def save_turn(
        self, state: SessionState, result: TurnResult, question: str, ms: float,
        state_before: dict[str, Any] | None = None,
    ) -> None:
        """Persist the new session state and the turn (and the state it started from) in one transaction."""
        now = _now()
        doc = state.model_dump(mode="json")
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(sessions.c.id).where(sessions.c.id == state.session_id)).first()
            values = dict(profile_id=state.profile_id, principal_id=state.principal_id, phase=state.phase.value,
                          state=doc, turns=state.turns, updated_at=now, owner=state.principal_id or state.visitor,
                          label=state.label)
            busy = SessionBusyError(f"session {state.session_id!r} changed while this message was handled; "
                                    "会话正在处理另一条消息，请稍后重试")
            if exists:
                # Compare-and-set on the turn counter: a concurrent turn from another process loses cleanly.
                res = conn.execute(sessions.update().where(
                    sessions.c.id == state.session_id, sessions.c.turns == state.turns - 1).values(**values))
                if res.rowcount != 1:
                    raise busy
            else:
                try:  # the whole transaction rolls back on a clash; nothing of this turn is kept
                    conn.execute(sessions.insert().values(id=state.session_id, created_at=now, **values))
                except sa.exc.IntegrityError as exc:
                    raise busy from exc
            conn.execute(turns.insert().values(
                id=result.turn_id, session_id=state.session_id, idx=result.turn_index, question=question,
                outcome=result.outcome.value, reply=result.reply, result=result.public(),
                trace=result.trace.model_dump(mode="json"), ms=ms, created_at=now,
            ))
            if state_before is not None:
                conn.execute(turn_states.insert().values(turn_id=result.turn_id, session_id=state.session_id,
                                                         state=state_before))

    def turn(self, turn_id: str) -> dict[str, Any] | None:
        """One persisted turn (redacted question, reply, public result, trace), or None."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(turns).where(turns.c.id == turn_id)).first()
        return dict(row._mapping) if row is not None else None

    def state_before(self, turn_id: str) -> SessionState | None:
        """The session state the turn started from, when it was recorded."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(turn_states.c.state).where(turn_states.c.turn_id == turn_id)).first()
        return SessionState.model_validate(row.state) if row is not None else None

    def turns(self, session_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(turns).where(turns.c.session_id == session_id).order_by(turns.c.idx))
            return [dict(r._mapping) for r in rows]

    def conversation(self, session_id: str) -> list[dict[str, str]]:
        """Redacted questions and replies so far, for a hand-off."""
        return [{"turn": r["idx"], "question": r["question"], "reply": r["reply"], "outcome": r["outcome"]}
                for r in self.turns(session_id)]

    # -- consents and hand-offs --------------------------------------------------------------------
    def record_consent(self, session_id: str, turn_id: str, profile_id: str, granted: bool, scope: str) -> str:
        cid = new_id("consent")
        with self.engine.begin() as conn:
            conn.execute(consents.insert().values(id=cid, session_id=session_id, turn_id=turn_id, profile_id=profile_id,
                                                  granted=granted, scope=scope, created_at=_now()))
        return cid

    def consents(self, session_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(consents).where(consents.c.session_id == session_id).order_by(consents.c.created_at))
            return [dict(r._mapping) for r in rows]

    def record_handoff(self, session_id: str, turn_id: str, reason: str, conversation: list[dict[str, Any]]) -> str:
        """Open a hand-off, or merge into the session's hand-off still waiting (open or accepted): asking again keeps
        one ticket and its place in the queue, with the conversation brought up to date. An emergency never merges
        into an ordinary request: it gets its own ticket, which the queue puts first."""
        with self.engine.begin() as conn:
            if reason != "emergency":
                row = conn.execute(sa.select(handoffs.c.id).where(
                    handoffs.c.session_id == session_id, handoffs.c.status.in_(("open", "accepted")),
                    handoffs.c.reason != "emergency").order_by(handoffs.c.created_at)).first()
                if row is not None:
                    conn.execute(handoffs.update().where(handoffs.c.id == row.id).values(conversation=conversation))
                    return str(row.id)
            hid = new_id("handoff")
            conn.execute(handoffs.insert().values(id=hid, session_id=session_id, turn_id=turn_id, reason=reason,
                                                  status="open", conversation=conversation, created_at=_now()))
        return hid

    def handoff_queue_position(self, handoff_id: str) -> int | None:
        """1 for the next to be taken: open hand-offs, emergencies first, then oldest first; None once taken."""
        queue = sorted(self.handoffs(statuses=("open",)), key=handoff_queue_key)
        return next((n for n, h in enumerate(queue, 1) if h["id"] == handoff_id), None)

    def handoffs(self, session_id: str | None = None, statuses: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        q = sa.select(handoffs).order_by(handoffs.c.created_at)
        if session_id:
            q = q.where(handoffs.c.session_id == session_id)
        if statuses:
            q = q.where(handoffs.c.status.in_(statuses))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def handoff(self, handoff_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).first()
        return dict(row._mapping) if row is not None else None

    def move_handoff(self, handoff_id: str, expected: str, status: str) -> bool:
        """Compare-and-set the hand-off's status; False when it was not `expected` (someone else moved it)."""
        with self.engine.begin() as conn:
            res = conn.execute(handoffs.update().where(handoffs.c.id == handoff_id, handoffs.c.status == expected)
                               .values(status=status))
        return res.rowcount == 1
