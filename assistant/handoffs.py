"""线上人工帮办: the desk where reviewers take over conversations the assistant handed off.

The assistant records a hand-off (`AssistantStore.record_handoff`, status `open`) when the citizen asks for a
person (also by choosing 转人工帮办, which a 不知道 reply offers) and in emergencies. Here a reviewer accepts it and later closes it with a note::

    open ──accept──> accepted ──close (note)──> closed

The status lives in `assistant_handoffs`; who accepted or closed it, when, and the notes are the audit events
`handoff.accepted` / `handoff.closed` (subject: the handed-off turn, so the turn's trace shows them). Every
step re-checks the role with `require()`; only the reviewer who accepted a hand-off (or an admin) closes it.
Accepting and the closing note reach a logged-in citizen's 消息 inbox, quoting the ticket number (工单号) the
chat reply gave. The queue lists waiting hand-offs emergencies first, then oldest first, with each one's place; a
session asking again while its hand-off waits keeps that one ticket (`AssistantStore.record_handoff` merges).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Protocol

from assistant.errors import HandoffNotFoundError, HandoffTransitionError, InvalidHandoffNoteError
from assistant.models import Value, handoff_queue_key, handoff_ticket
from assistant.store import AssistantStore
from guardrails.inbox import MessageKind
from guardrails.roles import Action, Principal, Resource, require

MAX_NOTE = 500
ACCEPTED_EVENT = "handoff.accepted"
CLOSED_EVENT = "handoff.closed"


class HandoffStatus(StrEnum):
    OPEN = "open"  # waiting for a person
    ACCEPTED = "accepted"  # a reviewer took it over
    CLOSED = "closed"  # done, with the reviewer's note


ACTIVE = (HandoffStatus.OPEN, HandoffStatus.ACCEPTED)


class LoggedEvent(Protocol):
    @property
    def actor(self) -> str: ...

    @property
    def ts(self) -> str: ...

    @property
    def data(self) -> dict[str, Any] | None: ...


class HandoffLog(Protocol):
    """The audit log (guardrails.audit.AuditLog): hand-off decisions are appended and read back from it."""

    def append(self, event: str, actor: str, subject: str, data: dict[str, Any]) -> Any: ...

    def latest(self, event: str, subject: str) -> LoggedEvent | None: ...


class Handoff(Value):
    id: str
    session_id: str
    turn_id: str
    reason: str  # citizen_request, unknown or emergency
    status: HandoffStatus
    conversation: tuple[dict[str, Any], ...]  # redacted questions and replies up to the hand-off
    created_at: dt.datetime
    accepted_by: str | None = None
    accepted_at: dt.datetime | None = None
    accept_note: str | None = None
    closed_by: str | None = None
    closed_at: dt.datetime | None = None
    close_note: str | None = None
    ticket: str = ""  # the number the citizen was told (RG…)
    queue_position: int | None = None  # 1 = next to be taken; None once accepted or closed
    emergency: bool = False


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _note(event: LoggedEvent | None) -> str | None:
    if event is None or not event.data:
        return None  # no decision yet, or its payload was forgotten
    return event.data.get("note") or None


class CitizenInbox(Protocol):
    """Where a staff reply is sent to a logged-in citizen (guardrails.inbox.Inbox)."""

    def post(self, recipient: str, kind: MessageKind, title: str, body: str,
             application_id: str | None = None) -> str: ...


class HandoffDesk:
    """List, accept and close hand-offs. Each decision is a compare-and-set on the status, then audited."""

    def __init__(self, store: AssistantStore, log: HandoffLog, inbox: CitizenInbox | None = None) -> None:
        self.store = store
        self.log = log
        self.inbox = inbox

    def list(self, viewer: Principal, statuses: tuple[HandoffStatus, ...] = ACTIVE) -> list[Handoff]:
        require(viewer, Action.HANDOFF_READ, Resource(kind="handoff_queue"))
        rows = self.store.handoffs(statuses=tuple(HandoffStatus(s).value for s in statuses))
        queue = {r["id"]: n for n, r in enumerate(sorted((r for r in rows if r["status"] == "open"),
                                                         key=handoff_queue_key), 1)}
        # queue order: waiting ones (emergencies first, then oldest first), then those already taken
        rows.sort(key=lambda r: (r["id"] not in queue, queue.get(r["id"], 0), r["created_at"]))
        return [self._handoff(r, queue.get(r["id"])) for r in rows]

    def get(self, handoff_id: str, viewer: Principal) -> Handoff:
        require(viewer, Action.HANDOFF_READ, Resource(kind="handoff", id=handoff_id))
        return self._load(handoff_id)

    def accept(self, handoff_id: str, reviewer: Principal, note: str = "") -> Handoff:
        """Take an open hand-off (接手). Two reviewers accepting at once: one wins, the other gets a conflict."""
        h = self._load(handoff_id)
        require(reviewer, Action.HANDOFF_ACCEPT, Resource(kind="handoff", id=h.id))
        text = self._clean(note, required=False)
        if h.status != HandoffStatus.OPEN:
            raise HandoffTransitionError(f"hand-off {h.id!r} is already {h.status.value}"
                                         f"{f' by {h.accepted_by!r}' if h.accepted_by else ''}; refresh the queue")
        self._move(h, HandoffStatus.OPEN, HandoffStatus.ACCEPTED)
        self.log.append(ACCEPTED_EVENT, reviewer.account_id, h.turn_id, {
            "handoff_id": h.id, "session_id": h.session_id, "reason": h.reason, "note": text,
            "reviewer_role": reviewer.role.value})
        citizen = self._citizen(h)
        if self.inbox is not None and citizen is not None:
            self.inbox.post(citizen, MessageKind.HANDOFF, f"人工帮办已接手（工单号 {h.ticket}）",
                            "工作人员已接手您的求助，正在处理" + (f"：{text}" if text else "。"))
        return self._load(h.id)

    def _citizen(self, h: Handoff) -> str | None:
        return self.store.load(h.session_id).principal_id if self.store.exists(h.session_id) else None

    def close(self, handoff_id: str, reviewer: Principal, note: str) -> Handoff:
        """Finish an accepted hand-off (完成) with a note saying what was done; only its acceptor or an admin."""
        h = self._load(handoff_id)
        # The role first, as if the hand-off were theirs, so callers without it learn nothing of its state.
        require(reviewer, Action.HANDOFF_CLOSE, Resource(kind="handoff", id=h.id, owner=reviewer.account_id))
        text = self._clean(note, required=True)
        if h.status != HandoffStatus.ACCEPTED:
            hint = "accept it first (接手)" if h.status == HandoffStatus.OPEN else "it is finished"
            raise HandoffTransitionError(f"hand-off {h.id!r} is {h.status.value}; {hint}")
        require(reviewer, Action.HANDOFF_CLOSE, Resource(kind="handoff", id=h.id, owner=h.accepted_by))
        self._move(h, HandoffStatus.ACCEPTED, HandoffStatus.CLOSED)
        self.log.append(CLOSED_EVENT, reviewer.account_id, h.turn_id, {
            "handoff_id": h.id, "session_id": h.session_id, "note": text, "reviewer_role": reviewer.role.value})
        citizen = self._citizen(h)
        if self.inbox is not None and citizen is not None:  # anonymous browsers have no inbox
            self.inbox.post(citizen, MessageKind.HANDOFF, f"人工帮办回复（工单号 {h.ticket}）",
                            f"工作人员已处理您的求助：{text}")
        return self._load(h.id)

    # -- internals ---------------------------------------------------------------------------------------
    def _load(self, handoff_id: str) -> Handoff:
        row = self.store.handoff(handoff_id)
        if row is None:
            raise HandoffNotFoundError(f"no hand-off {handoff_id!r}; list them with GET /api/v1/review/handoffs")
        return self._handoff(row, self.store.handoff_queue_position(handoff_id) if row["status"] == "open" else None)

    def _handoff(self, row: dict[str, Any], position: int | None = None) -> Handoff:
        status = HandoffStatus(row["status"])
        accepted = self.log.latest(ACCEPTED_EVENT, row["turn_id"]) if status != HandoffStatus.OPEN else None
        closed = self.log.latest(CLOSED_EVENT, row["turn_id"]) if status == HandoffStatus.CLOSED else None
        return Handoff(
            id=row["id"], session_id=row["session_id"], turn_id=row["turn_id"], reason=row["reason"], status=status,
            conversation=tuple(row["conversation"] or ()), created_at=_aware(row["created_at"]),
            accepted_by=accepted.actor if accepted else None,
            accepted_at=dt.datetime.fromisoformat(accepted.ts) if accepted else None, accept_note=_note(accepted),
            closed_by=closed.actor if closed else None,
            closed_at=dt.datetime.fromisoformat(closed.ts) if closed else None, close_note=_note(closed),
            ticket=handoff_ticket(row["id"]), queue_position=position, emergency=row["reason"] == "emergency",
        )

    def _move(self, h: Handoff, expected: HandoffStatus, status: HandoffStatus) -> None:
        if not self.store.move_handoff(h.id, expected.value, status.value):
            raise HandoffTransitionError(f"hand-off {h.id!r} was taken or changed by someone else meanwhile; "
                                         "refresh the queue")

    @staticmethod
    def _clean(note: str, required: bool) -> str:
        text = (note or "").strip()
        if required and not text:
            raise InvalidHandoffNoteError("closing a hand-off needs a note saying what was done for the citizen")
        if len(text) > MAX_NOTE:
            raise InvalidHandoffNoteError(f"the note has {len(text)} characters; keep it under {MAX_NOTE}")
        return text
