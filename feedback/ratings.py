"""好差评 with a closed loop: ratings, rectification tickets routed to the responsible unit, and their lifecycle.

A rating is given per answer (turn id) or per finished matter (application id). A bad rating (score at
or below the threshold, default 2) opens one rectification ticket per responsible unit: the owner units
of the cited knowledge versions (谁录入谁负责), else the matter's department, else a configured fallback.

Ticket lifecycle::

    open ──resolve (link a newer knowledge version)──────────────────────────> resolved
      └──dispute (误评/恶意差评 + reason)──> disputed ──reviewer confirms──> dispute_confirmed
                                                     └──reviewer rejects──> dispute_rejected ──resolve──> resolved

Roles are checked by the caller (API/CLI); this service takes the acting unit and refuses actions on
another unit's tickets, and a dispute may not be reviewed by the person who raised it. Every change is
recorded through the EventSink; comments are PII-redacted before they are stored and only their hash
goes to the event log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.engine import Connection, Engine

from feedback.errors import FeedbackError
from guardrails.pii import redact as pii_redact
from kb.errors import NotFoundError
from kb.events import EventSink, NullSink
from kb.models import Value, VersionState
from kb.schema import metadata
from kb.store import SqlStore, utcnow

log = logging.getLogger(__name__)
MAX_COMMENT = 500
MAX_REASON = 500


class RatingTarget(StrEnum):
    ANSWER = "answer"  # one assistant turn (turn id)
    MATTER = "matter"  # one finished application (application id)


class ReasonTag(StrEnum):
    OFF_TOPIC = "答非所问"
    OUTDATED = "信息过时"
    CUMBERSOME = "流程繁琐"
    COMPLEX_MATERIALS = "材料复杂"
    ATTITUDE = "态度"
    OTHER = "其他"


class TicketStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISPUTED = "disputed"
    DISPUTE_CONFIRMED = "dispute_confirmed"
    DISPUTE_REJECTED = "dispute_rejected"


CLOSED = frozenset({TicketStatus.RESOLVED, TicketStatus.DISPUTE_CONFIRMED})


class DisputeKind(StrEnum):
    MISRATED = "误评"
    MALICIOUS = "恶意差评"


class RatingsError(FeedbackError):
    code = "ratings_error"


class InvalidRatingError(RatingsError):
    code = "invalid_rating"


class TicketNotFoundError(RatingsError):
    code = "not_found"


class TicketForbiddenError(RatingsError):
    code = "forbidden"


class TicketTransitionError(RatingsError):
    code = "invalid_transition"


# -- values ----------------------------------------------------------------------------------------------
class CitedVersion(Value):
    item_id: str
    version: int


class Rating(Value):
    id: str
    target: RatingTarget
    target_id: str
    score: int
    reasons: tuple[ReasonTag, ...] = ()
    comment: str | None = None  # PII-redacted
    cited: tuple[CitedVersion, ...] = ()
    department: str | None = None
    units: tuple[str, ...] = ()  # the responsible units, routing order
    rater: str | None = None  # a pseudonymous id given by the caller, never a name or 身份证号
    created_at: dt.datetime

    @property
    def bad(self) -> bool:
        return self.score <= 2


class Ticket(Value):
    id: str
    rating_id: str
    unit: str
    status: TicketStatus
    score: int
    reasons: tuple[ReasonTag, ...] = ()
    cited: tuple[CitedVersion, ...] = ()
    opened_at: dt.datetime
    due_on: dt.date
    closed_at: dt.datetime | None = None
    resolved_by: str | None = None
    resolution: CitedVersion | None = None
    resolution_note: str | None = None
    dispute_kind: DisputeKind | None = None
    dispute_reason: str | None = None
    disputed_by: str | None = None
    disputed_at: dt.datetime | None = None
    reviewer: str | None = None
    review_note: str | None = None
    reviewed_at: dt.datetime | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def overdue(self, as_of: dt.date) -> bool:
        """Not closed by its due date: still open after it, or closed after it."""
        if self.closed and self.closed_at is not None:
            return self.closed_at.date() > self.due_on
        return as_of > self.due_on


class RatingsConfig(Value):
    due_working_days: int = Field(default=10, ge=1, le=60)
    bad_threshold: int = Field(default=2, ge=1, le=4)
    fallback_unit: str | None = None  # routes bad ratings that cite nothing and name no department
    holidays: frozenset[dt.date] = frozenset()  # public holidays (not working days)
    extra_workdays: frozenset[dt.date] = frozenset()  # 调休: weekend days that are working days


class RatingOutcome(Value):
    rating: Rating
    tickets: tuple[Ticket, ...] = ()


def add_working_days(start: dt.date, days: int, holidays: Iterable[dt.date] = (),
                     extra_workdays: Iterable[dt.date] = ()) -> dt.date:
    """The `days`-th working day after `start` (Mon-Fri, minus holidays, plus 调休 working weekends)."""
    off, on = set(holidays), set(extra_workdays)
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if (day.weekday() < 5 or day in on) and day not in off:
            left -= 1
    return day


# -- tables ----------------------------------------------------------------------------------------------
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("target", sa.String(16), nullable=False),
    sa.Column("target_id", sa.String(128), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("cited", sa.JSON, nullable=False),
    sa.Column("department", sa.String(64), nullable=True),
    sa.Column("units", sa.JSON, nullable=False),
    sa.Column("rater", sa.String(128), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.UniqueConstraint("target", "target_id", name="uq_rating_once"),
)
rating_units = sa.Table(  # which units a rating concerns: lets reports filter by unit in SQL
    "rating_units",
    metadata,
    sa.Column("rating_id", sa.String(40), sa.ForeignKey("ratings.id"), primary_key=True),
    sa.Column("unit", sa.String(64), primary_key=True),
)
tickets = sa.Table(
    "rectification_tickets",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("rating_id", sa.String(40), sa.ForeignKey("ratings.id"), nullable=False, index=True),
    sa.Column("unit", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(24), nullable=False, index=True),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("cited", sa.JSON, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_by", sa.String(128), nullable=True),
    sa.Column("resolution_item", sa.String(128), nullable=True),
    sa.Column("resolution_version", sa.Integer, nullable=True),
    sa.Column("resolution_note", sa.Text, nullable=True),
    sa.Column("dispute_kind", sa.String(16), nullable=True),
    sa.Column("dispute_reason", sa.Text, nullable=True),
    sa.Column("disputed_by", sa.String(128), nullable=True),
    sa.Column("disputed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reviewer", sa.String(128), nullable=True),
    sa.Column("review_note", sa.Text, nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def _cited(raw: Sequence[Any]) -> tuple[CitedVersion, ...]:
    return tuple(CitedVersion(item_id=c["item_id"], version=c["version"]) for c in raw)


def _rating(r: Any) -> Rating:
    return Rating(id=r.id, target=RatingTarget(r.target), target_id=r.target_id, score=r.score,
                  reasons=tuple(ReasonTag(x) for x in r.reasons), comment=r.comment, cited=_cited(r.cited),
                  department=r.department, units=tuple(r.units), rater=r.rater, created_at=_aware(r.created_at))


def _ticket(r: Any) -> Ticket:
    resolution = (CitedVersion(item_id=r.resolution_item, version=r.resolution_version)
                  if r.resolution_item else None)
    return Ticket(
        id=r.id, rating_id=r.rating_id, unit=r.unit, status=TicketStatus(r.status), score=r.score,
        reasons=tuple(ReasonTag(x) for x in r.reasons), cited=_cited(r.cited), opened_at=_aware(r.opened_at),
        due_on=r.due_on, closed_at=_aware(r.closed_at), resolved_by=r.resolved_by, resolution=resolution,
        resolution_note=r.resolution_note, dispute_kind=DisputeKind(r.dispute_kind) if r.dispute_kind else None,
        dispute_reason=r.dispute_reason, disputed_by=r.disputed_by, disputed_at=_aware(r.disputed_at),
        reviewer=r.reviewer, review_note=r.review_note, reviewed_at=_aware(r.reviewed_at),
    )


def _sha(text: str | None) -> str | None:
    return hashlib.sha256(text.encode("utf-8")).hexdigest() if text else None


# -- the service -----------------------------------------------------------------------------------------
class RatingsService:
    """Records ratings and runs the rectification loop. Each public method is one transaction."""

    def __init__(self, engine: Engine, kb_store: SqlStore, events: EventSink | None = None,
                 config: RatingsConfig | None = None, redact: Callable[[str], str] = pii_redact,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.engine = engine
        self.kb_store = kb_store
        self.events = events or NullSink()
        self.config = config or RatingsConfig()
        self.redact = redact
        self.clock = clock

    # -- rating --------------------------------------------------------------------------------------
    def rate(
        self, target: RatingTarget | str, target_id: str, score: int, reasons: Iterable[ReasonTag | str] = (),
        comment: str | None = None, cited: Iterable[tuple[str, int] | CitedVersion] = (),
        department: str | None = None, rater: str | None = None,
    ) -> RatingOutcome:
        """Store a rating; a bad one opens a ticket per responsible unit (within the same transaction)."""
        target = self._target(target)
        if not isinstance(target_id, str) or not target_id.strip() or len(target_id) > 128:
            raise InvalidRatingError(f"target_id {target_id!r} must be the turn or application id (1-128 chars)")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidRatingError(f"score {score!r} must be a whole number from 1 to 5")
        tags = self._reasons(reasons)
        text = self._comment(comment)
        versions = self._check_cited(cited)
        if department is not None and self.kb_store.unit(department) is None:
            raise InvalidRatingError(f"department {department!r} is not a known unit; use a unit id from units.yaml")
        units = self._route(versions, department)
        now = self.clock()
        rating = Rating(id=f"r-{uuid.uuid4().hex[:16]}", target=target, target_id=target_id.strip(), score=score,
                        reasons=tags, comment=text, cited=versions, department=department, units=units, rater=rater,
                        created_at=now)
        opened: list[Ticket] = []
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(ratings.c.id).where(
                ratings.c.target == target.value, ratings.c.target_id == rating.target_id)).first()
            if exists:
                raise InvalidRatingError(f"{target.value} {rating.target_id!r} is already rated ({exists.id})")
            conn.execute(ratings.insert().values(
                id=rating.id, target=target.value, target_id=rating.target_id, score=score,
                reasons=[t.value for t in tags], comment=text, cited=[c.model_dump() for c in versions],
                department=department, units=list(units), rater=rater, created_at=now))
            if units:
                conn.execute(rating_units.insert(), [{"rating_id": rating.id, "unit": u} for u in units])
            if score <= self.config.bad_threshold:
                for unit in units:
                    opened.append(self._open_ticket(conn, rating, unit, versions))
        self.events.record("ratings.rated", rater or "anonymous", rating.id, {
            "target": target.value, "target_id": rating.target_id, "score": score, "reasons": [t.value for t in tags],
            "cited": [c.model_dump() for c in versions], "units": list(units), "comment_sha256": _sha(text)})
        if score <= self.config.bad_threshold and not units:
            log.warning("bad rating %s has no responsible unit; configure RatingsConfig.fallback_unit", rating.id)
            self.events.record("ratings.unrouted", "system", rating.id, {"score": score})
        for t in opened:
            self.events.record("ratings.ticket_opened", "system", t.id, {
                "rating_id": rating.id, "unit": t.unit, "due_on": t.due_on.isoformat(),
                "cited": [c.model_dump() for c in t.cited]})
        return RatingOutcome(rating=rating, tickets=tuple(opened))

    def _target(self, target: RatingTarget | str) -> RatingTarget:
        try:
            return RatingTarget(target)
        except ValueError:
            raise InvalidRatingError(f"target {target!r} must be 'answer' (a turn) or 'matter' (an application)") from None

    def _reasons(self, reasons: Iterable[ReasonTag | str]) -> tuple[ReasonTag, ...]:
        out: list[ReasonTag] = []
        for r in reasons:
            try:
                tag = ReasonTag(r)
            except ValueError:
                raise InvalidRatingError(
                    f"reason {r!r} is not one of {', '.join(t.value for t in ReasonTag)}") from None
            if tag not in out:
                out.append(tag)
        return tuple(out)

    def _comment(self, comment: str | None) -> str | None:
        if comment is None or not comment.strip():
            return None
        if len(comment) > MAX_COMMENT:
            raise InvalidRatingError(f"the comment has {len(comment)} characters; keep it under {MAX_COMMENT}")
        return self.redact(comment.strip())

    def _check_cited(self, cited: Iterable[tuple[str, int] | CitedVersion]) -> tuple[CitedVersion, ...]:
        out: list[CitedVersion] = []
        for c in cited:
            cv = c if isinstance(c, CitedVersion) else CitedVersion(item_id=c[0], version=c[1])
            try:
                self.kb_store.get_version(cv.item_id, cv.version)
            except NotFoundError:
                raise InvalidRatingError(
                    f"cited knowledge {cv.item_id!r} v{cv.version} does not exist; pass the item id and version "
                    "the answer cited") from None
            if cv not in out:
                out.append(cv)
        return tuple(out)

    def _route(self, cited: Sequence[CitedVersion], department: str | None) -> tuple[str, ...]:
        owners = list(dict.fromkeys(self.kb_store.get_item(c.item_id).owner for c in cited))
        if owners:
            return tuple(owners)
        if department:
            return (department,)
        return (self.config.fallback_unit,) if self.config.fallback_unit else ()

    def _open_ticket(self, conn: Connection, rating: Rating, unit: str, cited: Sequence[CitedVersion]) -> Ticket:
        own = [c for c in cited if self.kb_store.get_item(c.item_id).owner == unit]
        due = add_working_days(rating.created_at.date(), self.config.due_working_days, self.config.holidays,
                               self.config.extra_workdays)
        t = Ticket(id=f"t-{uuid.uuid4().hex[:16]}", rating_id=rating.id, unit=unit, status=TicketStatus.OPEN,
                   score=rating.score, reasons=rating.reasons, cited=tuple(own), opened_at=rating.created_at,
                   due_on=due)
        conn.execute(tickets.insert().values(
            id=t.id, rating_id=t.rating_id, unit=unit, status=t.status.value, score=t.score,
            reasons=[r.value for r in t.reasons], cited=[c.model_dump() for c in t.cited], opened_at=t.opened_at,
            due_on=due))
        return t

    # -- queries -------------------------------------------------------------------------------------
    def ticket(self, ticket_id: str) -> Ticket:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).first()
        if row is None:
            raise TicketNotFoundError(f"no rectification ticket {ticket_id!r}; see `qingsong ratings list`")
        return _ticket(row)

    def rating(self, rating_id: str) -> Rating:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(ratings).where(ratings.c.id == rating_id)).first()
        if row is None:
            raise RatingsError(f"no rating {rating_id!r}")
        return _rating(row)

    def list_tickets(self, unit: str | None = None, status: TicketStatus | str | None = None,
                     opened_from: dt.datetime | None = None, opened_until: dt.datetime | None = None) -> list[Ticket]:
        q = sa.select(tickets).order_by(tickets.c.opened_at, tickets.c.id)
        if unit:
            q = q.where(tickets.c.unit == unit)
        if status:
            q = q.where(tickets.c.status == TicketStatus(status).value)
        if opened_from:
            q = q.where(tickets.c.opened_at >= opened_from)
        if opened_until:
            q = q.where(tickets.c.opened_at < opened_until)
        with self.engine.begin() as conn:
            return [_ticket(r) for r in conn.execute(q)]

    def list_ratings(self, unit: str | None = None, since: dt.datetime | None = None,
                     until: dt.datetime | None = None) -> list[Rating]:
        q = sa.select(ratings).order_by(ratings.c.created_at, ratings.c.id)
        if unit:
            q = q.where(ratings.c.id.in_(sa.select(rating_units.c.rating_id).where(rating_units.c.unit == unit)))
        if since:
            q = q.where(ratings.c.created_at >= since)
        if until:
            q = q.where(ratings.c.created_at < until)
        with self.engine.begin() as conn:
            return [_rating(r) for r in conn.execute(q)]

    # -- ticket lifecycle ----------------------------------------------------------------------------
    def resolve(self, ticket_id: str, acting_unit: str, actor: str, item_id: str, version: int,
                note: str = "") -> Ticket:
        """Close a ticket by linking the knowledge version that fixes the cause."""
        t = self._own(ticket_id, acting_unit, actor, "resolve")
        self._expect(t, (TicketStatus.OPEN, TicketStatus.DISPUTE_REJECTED), "resolve")
        try:
            v = self.kb_store.get_version(item_id, version)
        except NotFoundError:
            raise RatingsError(f"knowledge {item_id!r} v{version} does not exist; link an existing version "
                               f"(see `qingsong kb history {item_id}`)") from None
        if v.state == VersionState.WITHDRAWN:
            raise RatingsError(f"{item_id} v{version} was withdrawn and never went live; link the version that "
                               "replaces it")
        cited = {c.item_id: c.version for c in t.cited}
        if item_id in cited:
            if version <= cited[item_id]:
                raise RatingsError(f"{item_id} v{version} is not newer than the cited v{cited[item_id]}; publish a "
                                   "corrected version first and link it")
        else:  # an item the rating did not cite (e.g. a matter's guide): the unit's own, written after the rating
            if self.kb_store.get_item(item_id).owner != t.unit:
                raise RatingsError(f"{item_id!r} is neither cited by the rating nor owned by {t.unit!r}; link a "
                                   "new version of a cited item or of an item your unit owns")
            if v.created_at < t.opened_at:
                raise RatingsError(f"{item_id} v{version} was written before the ticket was opened; link the new "
                                   "version that fixes the problem")
        now = self.clock()
        self._update(t, (TicketStatus.OPEN, TicketStatus.DISPUTE_REJECTED), status=TicketStatus.RESOLVED.value,
                     closed_at=now, resolved_by=actor, resolution_item=item_id, resolution_version=version,
                     resolution_note=note.strip()[:MAX_REASON] or None)
        self.events.record("ratings.ticket_resolved", actor, t.id, {
            "unit": t.unit, "item_id": item_id, "version": version, "version_state": v.state.value,
            "overdue": now.date() > t.due_on})
        return self.ticket(t.id)

    def dispute(self, ticket_id: str, acting_unit: str, actor: str, kind: DisputeKind | str, reason: str) -> Ticket:
        """The owner unit marks the rating as 误评 or 恶意差评; a reviewer must confirm it."""
        t = self._own(ticket_id, acting_unit, actor, "dispute")
        self._expect(t, (TicketStatus.OPEN,), "dispute")
        try:
            kind = DisputeKind(kind)
        except ValueError:
            raise RatingsError(f"dispute kind {kind!r} must be 误评 or 恶意差评") from None
        reason = self.redact((reason or "").strip())
        if len(reason) < 4:
            raise RatingsError("a dispute needs a reason (at least 4 characters) that a reviewer can check")
        now = self.clock()
        self._update(t, (TicketStatus.OPEN,), status=TicketStatus.DISPUTED.value, dispute_kind=kind.value,
                     dispute_reason=reason[:MAX_REASON], disputed_by=actor, disputed_at=now)
        self.events.record("ratings.ticket_disputed", actor, t.id, {"unit": t.unit, "kind": kind.value,
                                                                    "reason": reason[:MAX_REASON]})
        return self.ticket(t.id)

    def review_dispute(self, ticket_id: str, reviewer: str, confirm: bool, note: str = "") -> Ticket:
        """A reviewer (role checked by the caller) confirms or rejects a dispute; never its own author."""
        t = self.ticket(ticket_id)
        self._expect(t, (TicketStatus.DISPUTED,), "review a dispute on")
        if not reviewer or not reviewer.strip():
            raise TicketForbiddenError("a dispute review needs the reviewer's name")
        if reviewer == t.disputed_by:
            raise TicketForbiddenError(f"{reviewer!r} raised this dispute and may not review it; ask another reviewer")
        now = self.clock()
        status = TicketStatus.DISPUTE_CONFIRMED if confirm else TicketStatus.DISPUTE_REJECTED
        self._update(t, (TicketStatus.DISPUTED,), status=status.value, reviewer=reviewer, review_note=note.strip() or None,
                     reviewed_at=now, closed_at=now if confirm else None)
        self.events.record("ratings.dispute_confirmed" if confirm else "ratings.dispute_rejected", reviewer, t.id,
                           {"unit": t.unit, "kind": t.dispute_kind.value if t.dispute_kind else None})
        return self.ticket(t.id)

    def _own(self, ticket_id: str, acting_unit: str, actor: str, action: str) -> Ticket:
        t = self.ticket(ticket_id)
        if acting_unit != t.unit:
            raise TicketForbiddenError(f"{actor!r} acts for unit {acting_unit!r} and may not {action} ticket {t.id}, "
                                       f"which belongs to {t.unit!r}")
        if not actor or not actor.strip():
            raise TicketForbiddenError(f"{action} needs the acting person's name")
        return t

    @staticmethod
    def _expect(t: Ticket, allowed: tuple[TicketStatus, ...], action: str) -> None:
        if t.status not in allowed:
            raise TicketTransitionError(f"ticket {t.id} is {t.status.value}; to {action} it, it must be "
                                        f"{' or '.join(s.value for s in allowed)}")

    def _update(self, t: Ticket, expected: tuple[TicketStatus, ...], **values: Any) -> None:
        """Compare-and-set on the status, so two concurrent decisions cannot both win."""
        with self.engine.begin() as conn:
            done = conn.execute(tickets.update().where(
                tickets.c.id == t.id, tickets.c.status.in_([s.value for s in expected])).values(**values))
        if done.rowcount != 1:
            raise TicketTransitionError(f"ticket {t.id} changed meanwhile; reload it and try again")


def build_ratings(kb_store: SqlStore, events: EventSink | None = None, config: RatingsConfig | None = None,
                  clock: Callable[[], dt.datetime] = utcnow) -> RatingsService:
    """Composition: ratings tables (made by the migrations) on the KB's engine, PII redaction from guardrails."""
    return RatingsService(kb_store.engine, kb_store, events, config, clock=clock)
