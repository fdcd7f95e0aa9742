"""Composition of the assistant from explicit dependencies (no globals): the knowledge base, the
guardrails services, the matter registry, the profile store and the settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from assistant.answer import ChatModel, ExtractiveComposer, LlmAssist, OpenAICompatibleChatModel
from assistant.catalog import MatterRegistry
from assistant.context import Deps
from assistant.engine import Assistant
from assistant.extractors import default_extractors
from assistant.identify import IdentifyConfig, build_identifier
from assistant.knowledge import KbKnowledge
from assistant.ports import (
    ApplicationGatePort,
    AuditPort,
    HoldPolicyPort,
    HoldQueuePort,
    InputRailsPort,
    OutputRailsPort,
    PiiChecks,
    PolicyMatcher,
)
from assistant.prereview import PreReviewer
from assistant.profiles import ProfileStore
from assistant.settings import AssistantSettings as Settings
from assistant.slots import SlotFiller
from assistant.state import SessionState
from assistant.store import AssistantStore
from assistant.validators import default_validators
from kb.runtime import KnowledgeBase

CATALOGUE_PACK = "matters.embeddings.npz"


class GuardrailsLike(Protocol):
    """What the assistant needs of `guardrails.Guardrails` (that dataclass satisfies it)."""

    @property
    def input_rails(self) -> InputRailsPort: ...

    @property
    def output_rails(self) -> OutputRailsPort: ...

    @property
    def audit(self) -> AuditPort: ...

    @property
    def hold_queue(self) -> HoldQueuePort: ...

    @property
    def hold_policy(self) -> HoldPolicyPort: ...

    @property
    def applications(self) -> ApplicationGatePort: ...


class GuardrailsIdentity:
    """Citizens as guardrails principals: the session owner is the principal id (or the session itself when
    anonymous); reading a profile needs the principal to be that profile's owner (checked by guardrails)."""

    def principal(self, state: SessionState) -> Any:
        from guardrails.roles import Principal, Role

        return Principal(account_id=self.owner(state), role=Role.CITIZEN, profile_id=state.profile_id)

    def owner(self, state: SessionState) -> str:
        return state.principal_id or f"session:{state.session_id}"

    def may_submit(self, state: SessionState) -> bool:
        """Real-name before submission: an anonymous browser (a visitor session) may ask and fill, not submit.
        Sessions without a visitor (the CLI, replays, evaluations) are run by a trusted operator."""
        return state.principal_id is not None or state.visitor is None

    def may_read_profile(self, state: SessionState) -> bool:
        from guardrails.roles import Action, Resource, authorize

        if state.profile_id is None:
            return False
        return authorize(self.principal(state), Action.PROFILE_READ,
                         Resource(kind="profile", id=state.profile_id, owner=state.profile_id)).allowed


def default_pii() -> PiiChecks:
    from guardrails import pii

    return pii  # the module satisfies the PiiChecks protocol


def chat_model_from(settings: Settings) -> ChatModel | None:
    if not (settings.llm_base_url and settings.llm_model):
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return OpenAICompatibleChatModel(settings.llm_base_url, settings.llm_model, key, timeout=settings.llm_timeout)


def build_assistant(
    kb: KnowledgeBase,
    guardrails: GuardrailsLike,
    registry: MatterRegistry,
    profiles: ProfileStore,
    settings: Settings,
    *,
    chat_model: ChatModel | None = None,
    identity: Any = None,
    pii: PiiChecks | None = None,
    identify_config: IdentifyConfig | None = None,
    today: Callable[[], dt.date] | None = None,
    catalogue_pack: Path | None = None,
    engine: Engine | None = None,
    policies: PolicyMatcher | None = None,
) -> Assistant:
    """Wire the assistant. The identifier indexes the registry's matters and bundles (seeding its embedding
    cache from the bundled pack); sessions live in the knowledge base's SQL engine unless `engine` is given.
    `policies` (optional) lets enterprise sessions ask which policies they qualify for (政策计算器)."""
    knowledge = KbKnowledge(kb)
    pack = catalogue_pack if catalogue_pack is not None else settings.samples_dir / CATALOGUE_PACK
    identifier = build_identifier(kb, registry.entries(), config=identify_config, pack=pack if pack.exists() else None)
    store = AssistantStore(engine if engine is not None else kb.store.engine)
    model = chat_model if chat_model is not None else chat_model_from(settings)
    deps = Deps(
        registry=registry, profiles=profiles, identifier=identifier, knowledge=knowledge, store=store,
        input_rails=guardrails.input_rails, output_rails=guardrails.output_rails, audit=guardrails.audit,
        hold_queue=guardrails.hold_queue, hold_policy=guardrails.hold_policy, applications=guardrails.applications,
        identity=identity or GuardrailsIdentity(),
        filler=SlotFiller(default_extractors(), default_validators(pii or default_pii())),
        reviewer=PreReviewer(knowledge), composer=ExtractiveComposer(),
        llm=LlmAssist(model) if model is not None else None, today=today or dt.date.today,
        related=identifier.related, policies=policies,
        units=lambda: {u.id: u.name for u in kb.store.list_units()},  # units may be loaded after wiring
    )
    return Assistant(deps)


def load_samples(settings: Settings) -> tuple[MatterRegistry, ProfileStore]:
    """The bundled sample catalogue and profiles, registered like a deployment registers its own."""
    return (MatterRegistry.from_folder(settings.samples_dir / "matters"),
            ProfileStore.from_folder(settings.samples_dir / "profiles"))


def export_catalogue_pack(kb: KnowledgeBase, registry: MatterRegistry, path: Path) -> int:
    """Embed the catalogue's texts with the knowledge base's embedder and write them as a pack, so fresh
    installs and tests need not embed them (`samples/matters.embeddings.npz`; rerun after catalogue edits)."""
    return build_identifier(kb, registry.entries(), infer=False).export_pack(path)
