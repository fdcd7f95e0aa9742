"""A citizen's in-app 消息 (inbox): status changes of their applications and replies from staff.

Messages are addressed to the application's citizen (an account id); the body is what a person reads, in Chinese.
"""

from __future__ import annotations

import datetime as dt
import secrets
from enum import StrEnum

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Engine

from guardrails.tables import inbox_messages

MAX_BODY = 2000


class MessageKind(StrEnum):
    STATUS = "status"  # an application changed status (受理, 退回补正, 办结, 不予受理)
    HANDOFF = "handoff"  # a staff member answered a hand-off


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    recipient: str
    kind: MessageKind
    title: str
    body: str
    application_id: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None


def _aware(v: dt.datetime | None) -> dt.datetime | None:
    return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v


class Inbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def post(self, recipient: str, kind: MessageKind, title: str, body: str,
             application_id: str | None = None) -> str:
        mid = f"msg-{secrets.token_hex(8)}"
        with self.engine.begin() as conn:
            conn.execute(inbox_messages.insert().values(
                id=mid, recipient=recipient, kind=kind.value, title=title[:200], body=body[:MAX_BODY],
                application_id=application_id, created_at=dt.datetime.now(dt.UTC)))
        return mid

    def list(self, recipient: str, limit: int = 50, offset: int = 0) -> list[Message]:
        """The recipient's messages, newest first."""
        q = (sa.select(inbox_messages).where(inbox_messages.c.recipient == recipient)
             .order_by(inbox_messages.c.created_at.desc()).limit(limit).offset(offset))
        with self.engine.connect() as conn:
            return [Message(id=r.id, recipient=r.recipient, kind=MessageKind(r.kind), title=r.title, body=r.body,
                            application_id=r.application_id, created_at=_aware(r.created_at),
                            read_at=_aware(r.read_at)) for r in conn.execute(q)]

    def unread(self, recipient: str) -> int:
        q = sa.select(sa.func.count()).select_from(inbox_messages).where(
            inbox_messages.c.recipient == recipient, inbox_messages.c.read_at.is_(None))
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar() or 0)

    def mark_read(self, recipient: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(inbox_messages.update().where(inbox_messages.c.recipient == recipient,
                                                       inbox_messages.c.read_at.is_(None))
                         .values(read_at=dt.datetime.now(dt.UTC)))
