"""The seams the assistant depends on, as Protocols. The guardrails classes satisfy them structurally;
tests may pass simple fakes through the same seams.

Expected implementations: `guardrails.pii` (the module), `guardrails.input_rails.InputRails`,
`guardrails.output_rails.OutputRails`, `guardrails.audit.AuditLog`, `guardrails.review.HoldQueue`,
`guardrails.review.ApplicationGate`, and `kb.retrieval.HybridRetriever` for knowledge search.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from kb.models import LiveVersion, SearchFilters, SearchHit

if TYPE_CHECKING:
    from guardrails.applications import Application, ApplicationStatus
    from guardrails.roles import Principal
    from policy.matching import MatchReport


class PiiChecks(Protocol):
    """Checksum validators for Chinese identifiers (guardrails.pii)."""

    def valid_id_card(self, value: str) -> bool: ...

    def valid_uscc(self, value: str) -> bool: ...

    def valid_mobile(self, value: str) -> bool: ...


class InputVerdictLike(Protocol):
    @property
    def redacted(self) -> str: ...

    @property
    def blocked(self) -> bool: ...

    @property
    def emergency(self) -> bool: ...

    @property
    def message(self) -> str | None: ...

    @property
    def rules(self) -> Any: ...

    @property
    def flags(self) -> Any: ...


class InputRailsPort(Protocol):
    def check(self, text: str) -> InputVerdictLike: ...


class OutputVerdictLike(Protocol):
    @property
    def passed(self) -> bool: ...

    @property
    def rules(self) -> Any: ...

    @property
    def reasons(self) -> Any: ...

    @property
    def message(self) -> str | None: ...


class OutputRailsPort(Protocol):
    def check(
        self,
        answer: str,
        citations: Sequence[tuple[str, int]],
        retrieved: Sequence[SearchHit],
        live: dict[str, LiveVersion],
        as_of: dt.date,
    ) -> OutputVerdictLike: ...


class AuditPort(Protocol):
    def append(self, event: str, actor: str, subject: str, data: dict[str, Any]) -> Any: ...


class HoldQueuePort(Protocol):
    def hold(self, turn_id: str, session_id: str, answer: str, reason: str, citations: Sequence[tuple[str, int]]) -> Any: ...


class ApplicationGatePort(Protocol):
    def create(
        self, session_id: str, matter_id: str, citizen: Principal, fields: dict[str, Any],
        requires_staff_approval: bool, *, session_owner: str | None = None,
    ) -> Application: ...

    def get(self, app_id: str, viewer: Principal | None = None) -> Application: ...

    def list(
        self, status: ApplicationStatus | str | None = None, citizen: str | None = None,
        viewer: Principal | None = None,
    ) -> list[Application]: ...


class KnowledgeSearch(Protocol):
    """The knowledge base's hybrid retriever (kb.retrieval.HybridRetriever)."""

    def search(
        self, query: str, top_k: int = 10, filters: SearchFilters | None = None, method: Any = "hybrid",
        per_item: int | None = None,
    ) -> list[SearchHit]: ...

    def live(self) -> dict[str, LiveVersion]: ...


class PolicyMatcher(Protocol):
    """The policy eligibility engine (policy.matching.PolicyMatchService): 政策计算器 in the chat."""

    def match_enterprise(self, enterprise_id: str, as_of: dt.date, notify: bool = True) -> MatchReport: ...
