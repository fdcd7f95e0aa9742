"""The mutable context one turn's steps share, and the dependencies they use."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.answer import ExtractiveComposer, LlmAssist
from assistant.answerability import Answerability
from assistant.catalog import Matter, MatterRegistry
from assistant.identify import Identification, MatterIdentifier
from assistant.models import (
    ApplicationRef,
    ChecklistItem,
    Choice,
    Citation,
    Finding,
    Outcome,
    StepRecord,
)
from assistant.ports import (
    ApplicationGatePort,
    AuditPort,
    CitizenIdentity,
    HoldPolicyPort,
    HoldQueuePort,
    InputRailsPort,
    KnowledgeSearch,
    OutputRailsPort,
    PolicyMatcher,
    SessionStore,
)
from assistant.prereview import PreReviewer
from assistant.profiles import ProfileStore
from assistant.slots import SlotFiller
from assistant.state import Phase, SessionState
from guardrails.input_rails import InputVerdict
from kb.models import SearchHit


@dataclass
class Deps:
    registry: MatterRegistry
    profiles: ProfileStore
    identifier: MatterIdentifier
    knowledge: KnowledgeSearch
    store: SessionStore
    input_rails: InputRailsPort
    output_rails: OutputRailsPort
    audit: AuditPort
    hold_queue: HoldQueuePort
    hold_policy: HoldPolicyPort
    applications: ApplicationGatePort
    identity: CitizenIdentity
    filler: SlotFiller
    reviewer: PreReviewer
    composer: ExtractiveComposer = field(default_factory=ExtractiveComposer)
    llm: LlmAssist | None = None
    today: Callable[[], dt.date] = dt.date.today
    related: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # item -> related items (live)
    answerability: Answerability = field(default_factory=Answerability.load)  # answer / clarify / 不知道
    policies: PolicyMatcher | None = None  # optional: answers "我们公司能享受哪些政策？" for enterprises
    units: Callable[[], dict[str, str]] = dict  # owner unit id -> name, read when needed (街镇 scope of answers)


@dataclass
class TurnContext:
    text: str
    redacted: str
    state: SessionState
    turn_index: int
    turn_id: str
    today: dt.date
    phase_before: Phase
    screened: InputVerdict | None = None  # the input rails' verdict so far (the semantic rail may be deferred)
    finish_screening: Callable[[], InputVerdict] | None = None  # runs a deferred semantic rail (engine.screen_input)
    identification: Identification | None = None
    retrieved: list[SearchHit] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    slots_changed: list[str] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    outcome: Outcome | None = None
    parts: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    checklist: list[ChecklistItem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    application: ApplicationRef | None = None
    handoff_id: str | None = None
    login_required: bool = False  # a confirmation from an anonymous browser: log in first, the form is kept
    started: float = field(default_factory=time.perf_counter)
    deferred_note: str | None = None  # said at the end of the reply (a second request remembered)
    vented: bool = False  # frustration or profanity was set aside (assistant/tone.py)
    follow_ups: list[Choice] = field(default_factory=list)  # related aspects offered after an answer
    state_before: dict[str, Any] | None = None  # the session as the turn found it (JSON), for replay

    @property
    def verdict(self) -> InputVerdict | None:
        """The complete input verdict. A form reply is screened without the semantic rail (it embeds the message,
        and inside a form its refusals are not acted on); a step that acts on the verdict (starting a matter,
        answering from knowledge) reads it here, which runs the deferred rail once."""
        if self.finish_screening is not None:
            finish, self.finish_screening = self.finish_screening, None
            self.screened = finish()
        return self.screened

    @verdict.setter
    def verdict(self, value: InputVerdict | None) -> None:
        self.screened = value

    def say(self, *text: str) -> None:
        self.parts.extend(t for t in text if t)

    def finish(self, outcome: Outcome, *text: str) -> None:
        self.outcome = outcome
        self.say(*text)

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def matter(self, deps: Deps) -> Matter | None:
        s = self.state
        return deps.registry.matter(s.matter_id, s.matter_version) if s.matter_id else None
