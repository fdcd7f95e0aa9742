"""`qingsong audit replay TURN_ID`: re-run a recorded turn and say whether the answer is the same.

Inputs: the turn's `turn.finalised` trace in the audit log (redacted question, the knowledge versions it
retrieved, when it was answered) and, from the assistant store, the session state the turn started from and
the reply/citations it gave. The turn is re-run through the same pipeline in a dry run (nothing is persisted,
audited, held or submitted), with the clock pinned to the recorded day.

By default (`against="pinned"`) it runs against the knowledge as it stood when the turn was answered: the
versions live then (assistant.pinning: trace, audit log, `published_at`) are re-chunked from their immutable
rows, scored with their cached embeddings and a BM25 index rebuilt over that corpus (kb.pinned), behind the
project's own retriever; identification votes, pre-review quotes and policy matching read the same view. A
pinned version that is missing or altered in the database makes replay refuse with the reason. With
`against="live"` it runs against today's knowledge instead, i.e. "would we answer the same now?". Either way
the report lists the knowledge that changed since.

Limits: the question is replayed as recorded, i.e. redacted, so a turn that consumed personal data (a phone
number typed into a form) can differ; an optional LLM phrasing is not deterministic; item metadata that is not
versioned (owner, audience, tags, related items) and the matter catalogue are today's.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from assistant.engine import Assistant
from assistant.errors import AssistantError
from assistant.models import TurnResult
from assistant.pinning import Evidence, check_pins, gather_evidence
from assistant.prereview import PreReviewer
from assistant.state import SessionState
from assistant.store import AssistantStore
from guardrails.applications import Application, ApplicationStatus
from guardrails.roles import Principal
from kb.errors import NotFoundError
from kb.models import ItemVersion, LiveVersion, SearchFilters, SearchHit
from kb.pinned import PinnedCorpus, corpus_at, pinned_retriever, versions_at
from kb.runtime import KnowledgeBase
from policy.matching import PolicyMatchService

Against = Literal["pinned", "live"]


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
    old_version: int | None  # None: not live when the turn was answered (published since)
    current_version: int | None  # None: no longer live (retired or withdrawn)
    cited: bool
    retrieved: bool = False


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
    against: Against = "pinned"
    knowledge_at: str = ""  # the moment whose knowledge was used (the trace's timestamp), for "pinned"
    pinned_versions: int = 0
    pinned_chunks: int = 0
    reembedded: int = 0  # pinned chunk texts missing from the embedding cache, embedded again
    retrieval_identical: bool = True  # same chunks retrieved, in the same order (diagnostic only)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def fmt(citations: Sequence[tuple[str, int]]) -> str:
    return ", ".join(f"{i} v{v}" for i, v in citations) or "(none)"


class _DryStore:
    """Reads from the real store; writes go nowhere. Ids it would mint are the recorded ones."""

    def __init__(self, inner: AssistantStore, handoff_id: str | None) -> None:
        self.inner = inner
        self.handoff_id = handoff_id

    def session_lock(self, session_id: str) -> AbstractContextManager[None]:
        return nullcontext()

    def load(self, session_id: str) -> SessionState:
        return self.inner.load(session_id)

    def exists(self, session_id: str) -> bool:
        return self.inner.exists(session_id)

    def turns(self, session_id: str) -> list[dict[str, Any]]:
        return self.inner.turns(session_id)

    def conversation(self, session_id: str) -> list[dict[str, str]]:
        return self.inner.conversation(session_id)

    def save_turn(self, state: SessionState, result: TurnResult, question: str, ms: float,
                  state_before: dict[str, Any] | None = None) -> None:
        return None

    def record_consent(self, session_id: str, turn_id: str, profile_id: str, granted: bool, scope: str) -> str:
        return "consent-replay"

    def record_handoff(self, session_id: str, turn_id: str, reason: str, conversation: list[dict[str, Any]]) -> str:
        return self.handoff_id or "handoff-replay"

    def handoff_queue_position(self, handoff_id: str) -> int | None:
        return None  # a replay reports no queue: the reply is compared without it


class _NullAudit:
    def append(self, event: str, actor: str, subject: str, data: dict[str, Any] | None = None, *,
               data_subject: str | None = None) -> None:
        return None


class _NullHoldQueue:
    def hold(self, turn_id: str, session_id: str, answer: str, reason: str,
             citations: Sequence[tuple[str, int]] = ()) -> None:
        return None


class _DryApplications:
    """Returns the recorded application (id, status) instead of creating one; reads nothing else."""

    def __init__(self, recorded: dict[str, Any] | None) -> None:
        self.recorded = recorded or {}
        self.made: dict[str, Application] = {}

    def create(self, session_id: str, matter_id: str, citizen: Principal, fields: dict[str, Any],
               requires_staff_approval: bool, *, session_owner: str | None = None,
               sources: dict[str, dict[str, str]] | None = None, findings: list[dict[str, Any]] | None = None,
               ) -> Application:
        status = self.recorded.get("status") or ("awaiting_staff_review" if requires_staff_approval else "submitted")
        app = Application(id=self.recorded.get("id") or "app-replay", session_id=session_id, matter_id=matter_id,
                          citizen=citizen.account_id, fields=dict(fields), status=ApplicationStatus(status),
                          requires_staff_approval=requires_staff_approval, created_at=dt.datetime.now(dt.UTC))
        self.made[app.id] = app
        return app

    def get(self, app_id: str, viewer: Principal | None = None) -> Application:
        if app_id not in self.made:
            raise ReplayError(f"application {app_id!r} is not part of this replay")
        return self.made[app_id]

    def list(self, status: ApplicationStatus | str | None = None, citizen: str | None = None,
             viewer: Principal | None = None) -> list[Application]:
        return list(self.made.values())


class ReplayKnowledge:
    """Knowledge search during a replay: over the pinned (or live) retriever, with searches that named no day
    pinned to the day they originally ran on."""

    def __init__(self, source: Any, as_of: dt.date, fallback: Any) -> None:
        self.source = source  # HybridRetriever over the pinned corpus, or the live KbKnowledge
        self.as_of = as_of
        self.fallback = fallback

    def search(self, query: str, top_k: int = 10, filters: SearchFilters | None = None, method: Any = "hybrid",
               per_item: int | None = None) -> list[SearchHit]:
        f = filters or SearchFilters()
        if f.as_of is None:
            f = f.model_copy(update={"as_of": self.as_of})
        return list(self.source.search(query, top_k=top_k, filters=f, method=method, per_item=per_item))

    def live(self) -> dict[str, LiveVersion]:
        return dict(self.source.live())

    def query_vector(self, query: str) -> np.ndarray:
        return np.asarray(self.source.query_vector(query))

    def related(self) -> dict[str, tuple[str, ...]]:
        return dict(self.fallback.related())


def _cites(items: Any) -> tuple[tuple[str, int], ...]:
    return tuple((str(c["item_id"]), int(c["version"])) for c in items or ())


def replay_turn(
    assistant: Assistant, audit: AuditReader, turn_id: str, *, kb: KnowledgeBase, against: Against = "pinned"
) -> ReplayReport:
    """Re-run TURN_ID in a dry run against the knowledge of its time (or today's); compare reply, outcome and
    citations."""
    final = [e for e in audit.events(subject=turn_id) if e.event == "turn.finalised"]
    if not final:
        raise ReplayError(f"no 'turn.finalised' event for turn {turn_id!r}; check the id in the answer receipt")
    event = final[-1]
    trace = event.data
    if trace is None:
        raise ReplayError(f"the trace of turn {turn_id!r} was erased (personal data erasure); it cannot be replayed")
    deps = assistant.deps
    store = deps.store
    if not isinstance(store, AssistantStore):
        raise ReplayError("replay needs the SQL assistant store (it reads recorded turns and states)")
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
    recorded = list(trace.get("retrieved", ()))
    evidence = gather_evidence(event.ts, recorded, original.citations, audit)
    day = evidence.at.astimezone().date()  # what dt.date.today() said when the turn ran (searches naming no day)

    pinned: PinnedCorpus | None = None
    reembedded = 0
    replacements: dict[str, Any] = {}
    if against == "pinned":
        problems = check_pins(kb.store, evidence)
        if problems:
            raise ReplayError(
                f"cannot replay turn {turn_id!r} against the knowledge of {event.ts}: " + "; ".join(problems)
                + ". Restore those versions from a backup, or use --live to replay against today's knowledge")
        try:
            pinned = corpus_at(kb.store, evidence.at, evidence.retired_at, kb.writer.chunk_chars, evidence.pins)
        except NotFoundError as exc:
            raise ReplayError(f"cannot rebuild the knowledge of {event.ts} for turn {turn_id!r}: {exc}") from exc
        retriever, reembedded = pinned_retriever(pinned, kb.store, kb.embedder, kb.retriever.config)
        knowledge = ReplayKnowledge(retriever, day, deps.knowledge)
        identifier = copy.copy(deps.identifier)
        identifier.knowledge = knowledge  # knowledge votes from the pinned corpus too
        replacements = dict(identifier=identifier, reviewer=PreReviewer(knowledge))
        if isinstance(deps.policies, PolicyMatchService):
            replacements["policies"] = PolicyMatchService(
                pinned, deps.policies.profiles, deps.policies.notifications)  # type: ignore[arg-type]  # reads only
    else:
        knowledge = ReplayKnowledge(deps.knowledge, day, deps.knowledge)

    dry = dataclasses.replace(
        deps, store=_DryStore(store, result.get("handoff_id")), audit=_NullAudit(), hold_queue=_NullHoldQueue(),
        applications=_DryApplications(result.get("application")), knowledge=knowledge, today=lambda: as_of,
        **replacements,
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
        differences.append(f"citations: {fmt(original.citations)} -> {fmt(replayed.citations)}")
    reply_diff = "" if original.reply == replayed.reply else "\n".join(difflib.unified_diff(
        original.reply.splitlines(), replayed.reply.splitlines(), "recorded", "replayed", lineterm=""))
    then = pinned.versions if pinned is not None else _versions_then(kb, evidence)
    return ReplayReport(
        turn_id=turn_id, session_id=row["session_id"], turn=int(row["idx"]), as_of=as_of, question=original_question(row, trace),
        identical=not differences, original=original, replayed=replayed, differences=tuple(differences),
        reply_diff=reply_diff, knowledge_changes=_changes(then, deps.knowledge.live(), recorded, original.citations),
        against=against, knowledge_at=event.ts if pinned is not None else "",
        pinned_versions=len(pinned.versions) if pinned else 0, pinned_chunks=len(pinned.chunks) if pinned else 0,
        reembedded=reembedded,
        retrieval_identical=[r["chunk_id"] for r in recorded] == [r.chunk_id for r in rerun.trace.retrieved],
    )


def _versions_then(kb: KnowledgeBase, evidence: Evidence) -> dict[str, ItemVersion]:
    """The versions live at the turn's time, for the change list of a live replay (missing pins are skipped)."""
    try:
        return versions_at(kb.store, evidence.at, evidence.retired_at, evidence.pins)
    except NotFoundError:
        return versions_at(kb.store, evidence.at, evidence.retired_at)


def _changes(then: dict[str, ItemVersion], now: dict[str, LiveVersion], retrieved: list[dict[str, Any]],
             cited: tuple[tuple[str, int], ...]) -> tuple[KnowledgeChange, ...]:
    """Items whose live version differs between the turn's time and now; those the turn used come first."""
    used = {str(r["item_id"]) for r in retrieved}
    cites = {item for item, _ in cited}
    out = []
    for item in sorted(set(then) | set(now)):
        old = then[item].number if item in then else None
        cur = now[item].version if item in now else None
        if old != cur:
            out.append(KnowledgeChange(item_id=item, old_version=old, current_version=cur, cited=item in cites,
                                       retrieved=item in used))
    return tuple(sorted(out, key=lambda c: (not (c.cited or c.retrieved), c.item_id)))


def original_question(row: dict[str, Any], trace: dict[str, Any]) -> str:
    return str(trace.get("question") or row["question"])
