"""Rule verdicts shared by input rails, output rails and hold triggers. Every rule has an id and a version."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class RuleVerdict(StrEnum):
    PASS = "pass"  # output rule checked and satisfied
    FLAG = "flag"  # noted (e.g. PII found), does not change the outcome by itself
    HOLD = "hold"  # answer goes to the human review queue
    BLOCK = "block"  # input refused with a message
    EMERGENCY = "emergency"  # signpost 110/120/12345 at once; never held
    FAIL = "fail"  # output rule violated: answer withheld
    ERROR = "error"  # the rule itself raised: fails closed


class RuleHit(BaseModel):
    """One rule's verdict on one input or answer, kept for traces and the audit log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    version: int
    verdict: RuleVerdict
    detail: str = ""

    @property
    def ref(self) -> str:
        """`id@version`, the form used in traces and reports."""
        return f"{self.id}@{self.version}"
