"""`qingsong audit replay TURN_ID`: re-run a recorded turn and say whether the answer is the same.

Inputs: the turn's `turn.finalised` trace in the audit log (redacted question, the knowledge versions it
retrieved, the day it was answered) and, from the assistant store, the session state the turn started
from and the reply/citations it gave. The turn is re-run through the same pipeline in a dry run (nothing is
persisted, audited, held or submitted), with the clock and retrieval pinned to the recorded day. The
retriever serves only live versions, so a recorded version that is no longer live is reported as
"knowledge changed since" (item, old version, current version) rather than silently replaced.

Limits: the question is replayed as recorded, i.e. redacted, so a turn that consumed personal data (a
phone number typed into a form) can differ; an optional LLM phrasing is not deterministic.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
from types import SimpleNamespace
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from assistant.engine import Assistant
from assistant.errors import AssistantError
from assistant.state import SessionState
from assistant.store import AssistantStore
from kb.models import LiveVersion, SearchFilters, SearchHit


class ReplayError(AssistantError):
    """The turn cannot be replayed (unknown id, erased trace, state not recorded)."""


class AuditEventLike(Protocol):
    @property
    def event(self) -> str: ...

    @property
    def ts(self) -> str: ...

    @property
    def data(self) -> dict[str, Any] | None: ...


class AuditReader(Protocol):
    def events(self, since: Any = None, subject: str | None = None, event: str | None = None,
               limit: int | None = None) -> list[Any]: ...


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KnowledgeChange(Value):
    item_id: str
    old_version: int
    current_version: int | None  # None: no longer live (retired or withdrawn)
    cited: bool


class TurnOutcome(Value):
    outcome: str
    reply: str
    citations: tuple[tuple[str, int], ...]


class ReplayReport(Value):
    turn_id: str
    session_id: str
    turn: int
    as_of: dt.date
    question: str
    identical: bool
    original: TurnOutcome
    replayed: TurnOutcome
    differences: tuple[str, ...]
    reply_diff: str = ""
    knowledge_changes: tuple[KnowledgeChange, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class _DryStore:
    """Reads from the real store; writes go nowhere. Ids it would mint are the recorded ones."""

    def __init__(self, inner: AssistantStore, handoff_id: str | None) -> None:
        self.inner = inner
        self.handoff_id = handoff_id

    def load(self, session_id: str) -> SessionState:
        return self.inner.load(session_id)

    def exists(self, session_id: str) -> bool:
        return self.inner.exists(session_id)

    def turns(self, session_id: str) -> list[dict[str, Any]]:
        return self.inner.turns(session_id)

    def conversation(self, session_id: str) -> list[dict[str, str]]:
        return self.inner.conversation(session_id)

    def save_turn(self, *args: Any, **kwargs: Any) -> None:
        return None

    def record_consent(self, *args: Any, **kwargs: Any) -> str:
        return "consent-replay"

    def record_handoff(self, *args: Any, **kwargs: Any) -> str:
        return self.handoff_id or "handoff-replay"


class _NullAudit:
    def append(self, *args: Any, **kwargs: Any) -> None:
        return None


class _NullHoldQueue:
    def hold(self, *args: Any, **kwargs: Any) -> None:
        return None


class _DryApplications:
    """Returns the recorded application (id, status) instead of creating one."""

    def __init__(self, recorded: dict[str, Any] | None) -> None:
        self.recorded = recorded or {}

    def create(self, session_id: str, matter_id: str, citizen: Any, fields: dict[str, Any],
               requires_staff_approval: bool, **kwargs: Any) -> Any:
        status = self.recorded.get("status") or ("awaiting_staff_review" if requires_staff_approval else "submitted")
        return SimpleNamespace(id=self.recorded.get("id") or "app-replay", status=status)


class PinnedKnowledge:
    """Knowledge search as of the recorded day; notes hits whose version differs from the recorded one."""

    def __init__(self, inner: Any, pins: dict[str, int], as_of: dt.date) -> None:
        self.inner = inner
        self.pins = pins
        self.as_of = as_of
        self.drift: dict[str, int] = {}

    def search(self, query: str, top_k: int = 10, filters: SearchFilters | None = None, method: Any = "hybrid",
               per_item: int | None = None) -> list[SearchHit]:
        f = filters or SearchFilters()
        if f.as_of is None:
            f = f.model_copy(update={"as_of": self.as_of})
        hits = self.inner.search(query, top_k=top_k, filters=f, method=method, per_item=per_item)
        for h in hits:
            if h.item_id in self.pins and self.pins[h.item_id] != h.version:
                self.drift[h.item_id] = h.version
        return hits

    def live(self) -> dict[str, LiveVersion]:
        return self.inner.live()

    def __getattr__(self, name: str) -> Any:  # query_vector, related, ...
        return getattr(self.inner, name)


def _cites(items: Any) -> tuple[tuple[str, int], ...]:
    return tuple((str(c["item_id"]), int(c["version"])) for c in items or ())


def replay_turn(assistant: Assistant, audit: AuditReader, turn_id: str) -> ReplayReport:
    """Re-run TURN_ID in a dry run pinned to its recorded knowledge and day; compare reply, outcome, citations."""
    final = [e for e in audit.events(subject=turn_id) if e.event == "turn.finalised"]
    if not final:
        raise ReplayError(f"no 'turn.finalised' event for turn {turn_id!r}; check the id in the answer receipt")
    event = final[-1]
    trace = event.data
    if trace is None:
        raise ReplayError(f"the trace of turn {turn_id!r} was erased (personal data erasure); it cannot be replayed")
    deps = assistant.deps
    store = deps.store
    row = store.turn(turn_id)
    if row is None:
        raise ReplayError(f"turn {turn_id!r} is in the audit log but not in the assistant store; was the store reset?")
    state = store.state_before(turn_id)
    if state is None:
        if int(row["idx"]) != 1:
            raise ReplayError(f"the session state before turn {turn_id!r} was not recorded (turn from an older version); "
                              "only turns answered since replay support can be replayed")
        state = SessionState(session_id=row["session_id"])
        latest = store.load(row["session_id"]) if store.exists(row["session_id"]) else None
        if latest is not None:
            state.profile_id, state.principal_id = latest.profile_id, latest.principal_id
    as_of = dt.date.fromisoformat(trace.get("today") or event.ts[:10])
    result = row["result"] or {}
    original = TurnOutcome(outcome=row["outcome"], reply=row["reply"], citations=_cites(result.get("citations")))

    recorded = {(str(r["item_id"]), int(r["version"])) for r in trace.get("retrieved", ())}
    cited = set(original.citations)
    pins = dict(sorted(recorded | cited))
    live = deps.knowledge.live()
    changes = tuple(
        KnowledgeChange(item_id=item, old_version=ver, current_version=live[item].version if item in live else None,
                        cited=(item, ver) in cited)
        for item, ver in sorted(recorded | cited)
        if item not in live or live[item].version != ver
    )

    knowledge = PinnedKnowledge(deps.knowledge, pins, as_of)
    dry = dataclasses.replace(
        deps, store=_DryStore(store, result.get("handoff_id")), audit=_NullAudit(), hold_queue=_NullHoldQueue(),
        applications=_DryApplications(result.get("application")), knowledge=knowledge, today=lambda: as_of,
    )
    rerun = Assistant(dry).run(state, str(trace.get("question", row["question"])), turn_id)
    replayed = TurnOutcome(outcome=rerun.outcome.value, reply=rerun.reply,
                           citations=tuple((c.item_id, c.version) for c in rerun.citations))

    differences: list[str] = []
    if original.outcome != replayed.outcome:
        differences.append(f"outcome: {original.outcome} -> {replayed.outcome}")
    if original.reply != replayed.reply:
        differences.append("reply text differs")
    if original.citations != replayed.citations:
        fmt = lambda cs: ", ".join(f"{i} v{v}" for i, v in cs) or "(none)"  # noqa: E731
        differences.append(f"citations: {fmt(original.citations)} -> {fmt(replayed.citations)}")
    reply_diff = "" if original.reply == replayed.reply else "\n".join(difflib.unified_diff(
        original.reply.splitlines(), replayed.reply.splitlines(), "recorded", "replayed", lineterm=""))
    return ReplayReport(
        turn_id=turn_id, session_id=row["session_id"], turn=int(row["idx"]), as_of=as_of, question=original_question(row, trace),
        identical=not differences, original=original, replayed=replayed, differences=tuple(differences),
        reply_diff=reply_diff, knowledge_changes=changes,
    )


def original_question(row: dict[str, Any], trace: dict[str, Any]) -> str:
    return str(trace.get("question") or row["question"])
