"""Audit schemas: events, inclusion receipts, traces, whole-log verification, consistency proofs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Public
from guardrails.audit import Receipt, TamperKind


class EventPublic(Public):
    seq: int = Field(description="Position in the log (Merkle leaf index)")
    ts: str = Field(description="Timestamp")
    event: str = Field(description="Event name, e.g. turn.finalised")
    actor: str = Field(description="Who acted")
    subject: str = Field(description="What it is about (turn id, item:version, ...)")
    leaf_hash: str = Field(description="Merkle leaf hash")
    data: dict[str, Any] | None = Field(description="Payload (None once forgotten)")


class ReceiptPublic(Public):
    leaf_index: int = Field(description="Leaf index")
    leaf_hash: str = Field(description="Leaf hash")
    tree_size: int = Field(description="Tree size the proof is for")
    root: str = Field(description="Merkle root at that size")
    proof: list[str] = Field(description="Audit path, hex")
    verified: bool = Field(description="Whether the proof checks against the root")

    @classmethod
    def of(cls, r: Receipt) -> ReceiptPublic:
        return cls.model_validate({**r.model_dump(), "verified": r.verify()})


class TracePublic(Public):
    turn_id: str = Field(description="The turn")
    events: list[EventPublic] = Field(description="Every audit event about the turn")
    receipt: ReceiptPublic | None = Field(description="Inclusion proof of the turn.finalised event")
    verified: bool = Field(description="Receipt verifies and the whole log verifies")


class ProblemPublic(Public):
    kind: TamperKind = Field(description="What kind of inconsistency")
    seq: int | None = Field(description="Event it concerns, if one")
    detail: str = Field(description="What was found")


class VerifyPublic(Public):
    ok: bool = Field(description="No tampering found")
    tree_size: int = Field(description="Events in the log")
    root: str = Field(description="Current Merkle root")
    checkpoints_checked: int = Field(description="Signed checkpoints checked")
    problems: list[ProblemPublic] = Field(description="Each inconsistency found")
    seconds: float = Field(description="Time taken")


class ConsistencyPublic(Public):
    """RFC 6962 section 2.1.2 consistency proof between an auditor's checkpoint and the current head."""

    first: int = Field(description="Tree size of the auditor's earlier checkpoint")
    second: int = Field(description="Tree size of the current head")
    first_root: str = Field(description="Root the log now gives for its first `first` events (hex); compare it "
                                        "with the root in your own checkpoint, never trust it")
    second_root: str = Field(description="Root of the current head (hex)")
    proof: list[str] = Field(description="Consistency proof, hex, as in RFC 6962 section 2.1.2; check it with the "
                                         "RFC 9162 section 2.1.4.2 algorithm against your checkpoint's root")
