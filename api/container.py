"""Composition root: builds every service once from Settings and wires the seams together."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from api import db
from api.settings import Settings
from assistant.builder import build_assistant, load_samples
from assistant.catalog import MatterRegistry
from assistant.engine import Assistant
from assistant.profiles import ProfileStore
from guardrails import Guardrails, build_guardrails
from ingest.jobs import IngestJobs
from ingest.pipeline import IngestReport, run_ingest
from kb.embedders import Embedder
from kb.embedding_pack import import_pack
from kb.errors import PermissionDeniedError
from kb.models import Actor
from kb.runtime import KnowledgeBase
from policy.matching import build_policy_matching

log = logging.getLogger(__name__)
SYSTEM = Actor(id="system", admin=True)
_ACTOR = re.compile(r"^(?P<id>[\w.-]{1,64})(?:@(?P<units>[\w,-]{1,400}))?$")


@dataclass
class Container:
    settings: Settings
    kb: KnowledgeBase
    guardrails: Guardrails
    registry: MatterRegistry
    profiles: ProfileStore
    assistant: Assistant
    ingest_jobs: IngestJobs = field(default_factory=IngestJobs)  # owner-console uploads

    def warm_up(self) -> Container:
        self.kb.warm_up()
        self.guardrails.input_rails.warm_up()
        self.assistant.warm_up()  # embeds the matter catalogue once, before concurrent turns race for it
        return self

    def is_empty(self) -> bool:
        return not self.kb.store.list_items()

    def bootstrap(self, progress: Callable[[str, int, int], None] | None = None) -> IngestReport | None:
        """On first start: seed the embedding cache from the bundled pack and ingest the sample KB."""
        if not self.is_empty():
            return None
        samples = self.settings.samples_dir / "kb"
        seeded = import_pack(self.kb.store, self.kb.embedder.name, self.settings.samples_dir / "kb.embeddings.npz")
        log.info("seeded %d cached embeddings from the bundled pack", seeded)
        return run_ingest(samples, self.kb, SYSTEM, publish=True, progress=progress)


def build_container(settings: Settings | None = None, embedder: Embedder | None = None) -> Container:
    settings = settings or Settings()
    kb = KnowledgeBase.build(settings, embedder=embedder, migrate=db.upgrade)  # Alembic, SQLite and PostgreSQL
    g = build_guardrails(kb.store.engine, settings.home / "keys", embedder=kb.embedder)
    kb.service.events = g.audit  # every draft, approval, publish and retirement is audited
    registry, profiles = load_samples(settings)
    policies = build_policy_matching(kb.store, settings.samples_dir / "profiles", events=g.audit)
    assistant = build_assistant(kb, g, registry, profiles, settings, policies=policies)
    return Container(settings=settings, kb=kb, guardrails=g, registry=registry, profiles=profiles, assistant=assistant,
                     ingest_jobs=IngestJobs(engine=kb.store.engine))


def resolve_cli_actor(spec: str) -> Actor:
    """CLI actors: `system` (admin), or `name@unit[,unit]` for a member of owner units."""
    if spec in ("system", "admin"):
        return SYSTEM
    m = _ACTOR.match(spec)
    if not m or not m.group("units"):
        raise PermissionDeniedError(f"actor {spec!r} is not valid; use name@unit (e.g. zhang@sj-scjgj) or system")
    return Actor(id=m.group("id"), units=tuple(m.group("units").split(",")))


def default_samples() -> Path:
    return Settings().samples_dir / "kb"
