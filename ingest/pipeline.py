"""Run an ingest: read and validate every source, plan against the store, apply. A bad file never half-writes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import SourceError
from ingest.parse import to_draft
from ingest.plan import Action, Existing, Plan, plan_ingest
from ingest.sources import discover, read_source
from ingest.tagging import Vocabulary, machine_tags
from kb.errors import KbError
from kb.lifecycle import ItemDraft
from kb.models import Actor, VersionState
from kb.runtime import KnowledgeBase, load_units

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


@dataclass
class Outcome:
    source: str
    item_id: str
    action: str
    version: int | None = None
    detail: str = ""


@dataclass
class IngestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, message)
    embedded: int = 0

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def changed(self) -> int:
        return sum(1 for o in self.outcomes if o.action != Action.UNCHANGED)


def read_drafts(
    root: Path, kb: KnowledgeBase, vocab: Vocabulary, progress: Progress | None = None
) -> tuple[list[ItemDraft], list[tuple[str, str]]]:
    """Parse and validate every source under root. Errors are collected; duplicates are rejected."""
    units = {u.id: u for u in kb.store.list_units()}
    files = discover(root)
    parsed: list[ItemDraft] = []
    skipped: list[tuple[str, str]] = []
    for n, path in enumerate(files, 1):
        if progress:
            progress("read", n, len(files))
        try:
            for rec in read_source(path, kb.settings.max_source_bytes):
                parsed.append(to_draft(rec, units, kb.settings.guide_sections))
        except SourceError as exc:
            skipped.append((exc.path, str(exc)))
        except (OSError, ValueError) as exc:
            skipped.append((str(path), f"{path}: {type(exc).__name__}: {exc}"))
    # An id used by two sources is ambiguous: reject every source that uses it, keep the store as it is.
    by_id: dict[str, list[str]] = {}
    for d in parsed:
        by_id.setdefault(d.id, []).append(str(d.source_path))
    drafts: list[ItemDraft] = []
    for d in parsed:
        sources = by_id[d.id]
        if len(sources) > 1:
            others = ", ".join(p for p in sources if p != d.source_path)
            err = SourceError(str(d.source_path), f"duplicate id {d.id!r}, also used by {others}", "id",
                              "give each item its own id")
            skipped.append((err.path, str(err)))
            continue
        kb.tokenizer.add_words([d.content.title])
        tags = machine_tags(d.content, tuple(a.value for a in d.audience), vocab, kb.tokenizer,
                            tuple(t.tag for t in d.tags))
        drafts.append(d.model_copy(update={"tags": d.tags + tuple(tags)}))
    return drafts, skipped


def existing_state(kb: KnowledgeBase) -> dict[str, Existing]:
    out: dict[str, Existing] = {}
    for item in kb.store.list_items():
        versions = [v for v in kb.store.list_versions(item.id) if v.state != VersionState.WITHDRAWN]
        out[item.id] = Existing(item, versions[-1] if versions else None)
    return out


def run_ingest(
    root: Path,
    kb: KnowledgeBase,
    actor: Actor,
    *,
    publish: bool = False,
    retire_missing: bool = False,
    progress: Progress | None = None,
    vocab: Vocabulary | None = None,
) -> IngestReport:
    vocab = vocab or Vocabulary.load()
    units_file = (root if root.is_dir() else root.parent) / "units.yaml"
    if units_file.exists():
        kb.store.upsert_units(load_units(units_file))
    drafts, skipped = read_drafts(root, kb, vocab, progress)
    prefix = str(root) if retire_missing else None
    plan = plan_ingest(existing_state(kb), drafts, publish=publish, retire_missing_under=prefix)
    report = IngestReport(skipped=skipped)
    before = kb.writer.embedded
    apply_plan(plan, kb, actor, publish, report, progress)
    report.embedded = kb.writer.embedded - before
    return report


def apply_plan(
    plan: Plan, kb: KnowledgeBase, actor: Actor, publish: bool, report: IngestReport, progress: Progress | None = None
) -> None:
    """Do the I/O: drafts first, then one batched publish, then retirements (so a
    replacement created in the same batch exists before the item it replaces is retired)."""
    svc = kb.service
    to_publish: list[tuple[str, int, Outcome]] = []
    order = {Action.CREATE: 0, Action.NEW_VERSION: 0, Action.PUBLISH_PENDING: 0, Action.UNCHANGED: 1,
             Action.RETIRE: 3}
    steps = sorted(plan.steps, key=lambda s: order[s.action])
    for n, step in enumerate(steps, 1):
        if step.action == Action.RETIRE and to_publish:
            _publish_batch(kb, actor, to_publish, report)
            to_publish = []
        if progress:
            progress("apply", n, len(steps))
        source = step.draft.source_path if step.draft and step.draft.source_path else step.item_id
        try:
            if step.action in (Action.CREATE, Action.NEW_VERSION):
                assert step.draft is not None
                v = svc.propose(step.draft, actor)
                out = Outcome(source, step.item_id, step.action.value, v.number, step.reason)
                if publish:
                    svc.approve_waived(v.item_id, v.number, actor, "ingest --publish")
                    to_publish.append((v.item_id, v.number, out))
                else:
                    report.outcomes.append(out)
            elif step.action == Action.PUBLISH_PENDING:
                assert step.version is not None
                svc.approve_waived(step.item_id, step.version, actor, "ingest --publish")
                out = Outcome(source, step.item_id, step.action.value, step.version, step.reason)
                to_publish.append((step.item_id, step.version, out))
            elif step.action == Action.RETIRE:
                replaced = (step.draft.retire or {}).get("replaced_by") if step.draft else None
                svc.retire(step.item_id, actor, step.reason or "retired by ingest", replaced)
                report.outcomes.append(Outcome(source, step.item_id, step.action.value, None, step.reason))
            else:
                report.outcomes.append(Outcome(source, step.item_id, step.action.value))
        except KbError as exc:
            report.skipped.append((source, f"{source}: {exc}"))
    if to_publish:
        _publish_batch(kb, actor, to_publish, report)


def _publish_batch(kb: KnowledgeBase, actor: Actor, batch: list[tuple[str, int, Outcome]], report: IngestReport) -> None:
    """Publish in groups; a group that fails is retried one item at a time so one bad item cannot block others."""
    for start in range(0, len(batch), 100):
        group = batch[start : start + 100]
        try:
            kb.service.publish_many([(i, n) for i, n, _ in group], actor)
            report.outcomes += [o for _, _, o in group]
        except KbError:
            for item_id, number, out in group:
                try:
                    kb.service.publish(item_id, number, actor)
                    report.outcomes.append(out)
                except KbError as exc:
                    report.skipped.append((out.source, f"{out.source}: {exc}"))
