"""Guardrails: roles, input/output rails, review gates, tamper-evident audit log.

Build everything once with `build_guardrails(engine, key_dir)`; wire `guardrails.audit` as the knowledge
service's event sink so publishes and retirements are audited too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from guardrails.accounts import AccountStore
from guardrails.applications import ApplicationGate
from guardrails.audit import AuditLog
from guardrails.config import HoldConfig, RailsConfig
from guardrails.inbox import Inbox
from guardrails.input_rails import InputRails
from guardrails.output_rails import OutputRails
from guardrails.review import HoldPolicy, HoldQueue

if TYPE_CHECKING:
    from kb.embedders import Embedder


@dataclass
class Guardrails:
    accounts: AccountStore
    audit: AuditLog
    input_rails: InputRails
    output_rails: OutputRails
    hold_queue: HoldQueue
    applications: ApplicationGate
    hold_policy: HoldPolicy
    inbox: Inbox  # citizens' 消息: application status changes, staff replies


def build_guardrails(
    engine: Engine, key_dir: Path, rails: RailsConfig | None = None, hold: HoldConfig | None = None,
    checkpoint_every: int = 256, embedder: Embedder | None = None,
) -> Guardrails:
    """Every guardrails service over `engine` (its tables made by the migrations); keys live under key_dir.

    Pass the knowledge base's embedder to switch on the semantic input rail (then call
    `guardrails.input_rails.warm_up()` with the other warm-ups)."""
    audit = AuditLog(engine, key_dir, checkpoint_every=checkpoint_every)
    inbox = Inbox(engine)
    return Guardrails(
        accounts=AccountStore(engine, audit),
        audit=audit,
        input_rails=InputRails(rails, embedder=embedder),
        output_rails=OutputRails(rails),
        hold_queue=HoldQueue(engine, audit),
        applications=ApplicationGate(engine, audit, inbox),
        hold_policy=HoldPolicy(hold),
        inbox=inbox,
    )


__all__ = ["Guardrails", "build_guardrails"]
