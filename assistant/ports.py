"""The seams the dialogue depends on, as Protocols returning the real domain types of the lower layers.

Implementations: `guardrails.pii` (the module), `guardrails.input_rails.InputRails`,
`guardrails.output_rails.OutputRails`, `guardrails.audit.AuditLog`, `guardrails.review.HoldQueue` and
`HoldPolicy`, `guardrails.applications.ApplicationGate`, `assistant.builder.GuardrailsIdentity`,
`assistant.store.AssistantStore`, `assistant.knowledge.KbKnowledge` (over `kb.retrieval.HybridRetriever`)
and `policy.matching.PolicyMatchService`. Replay (`assistant/replay.py`) and test fakes implement the same
protocols and return the same types.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from guardrails.applications import Application, ApplicationStatus
from guardrails.audit import Receipt
from guardrails.input_rails import InputVerdict
from guardrails.output_rails import OutputVerdict
from guardrails.review import HeldAnswer, HoldDecision
from guardrails.roles import Principal
from kb.models import LiveVersion, SearchFilters, SearchHit

if TYPE_CHECKING:
    from assistant.models import TurnResult
    from assistant.state import SessionState
    from policy.matching import MatchReport

SearchMethod = Literal["hybrid", "dense", "bm25", "rrf"]


class PiiChecks(Protocol):
    """Checksum validators for Chinese identifiers (guardrails.pii)."""

    def valid_id_card(self, value: str) -> bool: ...

    def valid_uscc(self, value: str) -> bool: ...

    def valid_mobile(self, value: str) -> bool: ...


class InputRailsPort(Protocol):
    def check(self, text: str, *, semantic: bool = True) -> InputVerdict:
        """`semantic=False`: skip the rail that embeds the message, and say so (`InputVerdict.semantic_pending`)."""
        ...


class OutputRailsPort(Protocol):
    def check(
        self,
        answer: str,
        citations: Sequence[tuple[str, int]],
        retrieved: Sequence[SearchHit],
        live: dict[str, LiveVersion],
        as_of: dt.date,
    ) -> OutputVerdict: ...


class AuditPort(Protocol):
    def append(self, event: str, actor: str, subject: str, data: dict[str, Any] | None = None, *,
               data_subject: str | None = None) -> Receipt | None: ...


class HoldQueuePort(Protocol):
    def hold(self, turn_id: str, session_id: str, answer: str, reason: str,
             citations: Sequence[tuple[str, int]] = ()) -> HeldAnswer | None: ...


class HoldPolicyPort(Protocol):
    """Does an answer wait for a human (人工复核)?"""

    def decide(self, *, question: str, answer: str = "", matter_id: str | None = None, confidence: float | None = None,
               llm_phrased: bool = False, input_verdict: InputVerdict | None = None) -> HoldDecision: ...


class ApplicationGatePort(Protocol):
    def create(
        self, session_id: str, matter_id: str, citizen: Principal, fields: dict[str, Any],
        requires_staff_approval: bool, *, session_owner: str | None = None,
        sources: dict[str, dict[str, str]] | None = None, findings: list[dict[str, Any]] | None = None,
    ) -> Application: ...

    def get(self, app_id: str, viewer: Principal | None = None) -> Application: ...

    def list(
        self, status: ApplicationStatus | str | None = None, citizen: str | None = None,
        viewer: Principal | None = None,
    ) -> list[Application]: ...


class CitizenIdentity(Protocol):
    """Who acts in a session, and whether they may read a profile (the server checks, always)."""

    def principal(self, state: SessionState) -> Principal: ...

    def owner(self, state: SessionState) -> str: ...

    def may_read_profile(self, state: SessionState) -> bool: ...

    def may_submit(self, state: SessionState) -> bool: ...


class SessionStore(Protocol):
    """Sessions, turns, consents and hand-offs (assistant.store.AssistantStore)."""

    def session_lock(self, session_id: str) -> AbstractContextManager[None]: ...

    def load(self, session_id: str) -> SessionState: ...

    def exists(self, session_id: str) -> bool: ...

    def save_turn(self, state: SessionState, result: TurnResult, question: str, ms: float,
                  state_before: dict[str, Any] | None = None) -> None: ...

    def turns(self, session_id: str) -> list[dict[str, Any]]: ...

    def conversation(self, session_id: str) -> list[dict[str, Any]]: ...

    def record_consent(self, session_id: str, turn_id: str, profile_id: str, granted: bool, scope: str) -> str: ...

    def record_handoff(self, session_id: str, turn_id: str, reason: str, conversation: list[dict[str, Any]]) -> str: ...

    def handoff_queue_position(self, handoff_id: str) -> int | None: ...


class KnowledgeSearch(Protocol):
    """The knowledge base's hybrid retriever (kb.retrieval.HybridRetriever, through KbKnowledge)."""

    def search(
        self, query: str, top_k: int = 10, filters: SearchFilters | None = None, method: SearchMethod = "hybrid",
        per_item: int | None = None,
    ) -> list[SearchHit]: ...

    def live(self) -> dict[str, LiveVersion]: ...

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding, cached per retrieval snapshot (shared by identification and answers)."""
        ...


class PolicyMatcher(Protocol):
    """The policy eligibility engine (policy.matching.PolicyMatchService): 政策计算器 in the chat."""

    def match_enterprise(self, enterprise_id: str, as_of: dt.date, notify: bool = True) -> MatchReport: ...

    def profile(self, enterprise_id: str) -> Mapping[str, Any]: ...

    def match_profile(self, profile: Mapping[str, Any], as_of: dt.date, notify: bool = True) -> MatchReport: ...
