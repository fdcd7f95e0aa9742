"""The persisted state of one conversation: where the dialogue is, which matter, situations and slots."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from assistant.models import ApplicationRef, Slot


class Phase(StrEnum):
    IDLE = "idle"  # no matter yet
    CLARIFY = "clarify"  # asked which of the close candidates
    OFFER = "offer"  # answered a question about a matter; offered to start the application
    SITUATION = "situation"  # asking 情形 questions
    CONSENT = "consent"  # asking to read the profile and e-licences
    COLLECT = "collect"  # asking form fields
    CONFIRM = "confirm"  # showed the confirmation screen
    NEXT = "next"  # one matter of a bundle done; offered the next one
    HANDED_OFF = "handed_off"  # a human agent took over


class SessionState(BaseModel):
    """Mutable, serialised to JSON in the sessions table after every turn."""

    model_config = ConfigDict(extra="forbid")

    session_id: str
    profile_id: str | None = None
    principal_id: str | None = None
    visitor: str | None = None  # anonymous: `visitor:<hash>` of the browser's server-issued cookie (holds the session)
    label: str | None = None  # the client's own name for this session (chat `session_id`, OpenAI `user`)
    phase: Phase = Phase.IDLE
    turns: int = 0
    candidates: list[str] = Field(default_factory=list)
    question: str | None = None  # what the citizen said before a clarifying question
    offer: str | None = None
    bundle_id: str | None = None
    bundle_step: int = 0
    matter_id: str | None = None
    matter_version: int | None = None
    confidence: float | None = None
    situations: dict[str, str] = Field(default_factory=dict)
    slots: dict[str, Slot] = Field(default_factory=dict)
    pending: str | None = None  # "situation:<id>", "consent", "field:<name>", "confirm"
    consent: bool | None = None
    consent_turn: int | None = None
    prefilled_for: str | None = None  # matter@version the profile was last read for
    expired_told: list[str] = Field(default_factory=list)
    carried: dict[str, Slot] = Field(default_factory=dict)
    carried_situations: dict[str, str] = Field(default_factory=dict)
    completed: list[ApplicationRef] = Field(default_factory=list)
    queued: list[str] = Field(default_factory=list)  # a second request of one message, offered after the first
    # "帮我妈申请…她74岁了" typed on the 74-year-old's own account: the profile is the beneficiary's, not the agent's
    stated_age: int | None = None
    last_question: str | None = None  # the question last answered: "要是丢了补办呢" asks the same about 补办
    profile_is_beneficiary: bool = False
    # "他跟我住一起 地址一样的": the person who takes a role on the form lives at the citizen's address
    same_home: bool = False

    def reset_matter(self) -> None:
        self.matter_id = self.matter_version = self.confidence = None
        self.situations, self.slots, self.pending, self.prefilled_for = {}, {}, None, None
        self.candidates, self.offer = [], None
        self.profile_is_beneficiary = self.same_home = False

    def leave_bundle(self) -> None:
        self.bundle_id, self.bundle_step, self.carried, self.carried_situations = None, 0, {}, {}
