"""免申即享 policy matching: an enterprise profile against every in-force, published policy, with citations.

The policies come from the knowledge base (live versions of kind `policy` for 法人, in force at `as_of`;
each version's `content.extra` holds eligibility, mianshen and amount). Every verdict carries the
per-condition verdicts with the profile values used and a citation (item id, version, 文号). A policy
marked `mianshen: true` that an enterprise qualifies for yields one notification record per enterprise and
policy version (idempotent), announced through the EventSink.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from kb.events import EventSink, NullSink
from kb.models import Audience, Kind, Value
from kb.schema import metadata
from kb.store import SqlStore, utcnow
from policy.eligibility import (
    FIELD_LABELS,
    FIELDS,
    AmountResult,
    EligibilityError,
    NodeResult,
    Outcome,
    PolicyTerms,
    PreparedProfile,
    compute_amount,
    evaluate,
    parse_policy_terms,
    prepare_profile,
)
from policy.errors import PolicyError

log = logging.getLogger(__name__)
ACTOR = "system:policy-match"
PROFILE_KEYS = ("id", "name", "uscc", "synthetic", *FIELDS)  # flat fields kept; personal data is left out
_ORDER = {Outcome.ELIGIBLE: 0, Outcome.NEEDS_INFO: 1, Outcome.NOT_ELIGIBLE: 2}


class UnknownEnterpriseError(PolicyError):
    code = "not_found"


# -- enterprise profiles -------------------------------------------------------------------------------
class EnterpriseDirectory(Protocol):
    """Where enterprise profiles (一企一档, flat fields) come from."""

    def get(self, enterprise_id: str) -> Mapping[str, Any] | None: ...

    def all(self) -> list[Mapping[str, Any]]: ...


class FileEnterpriseProfiles:
    """The synthetic JSONL plus the hand-written YAML profiles of samples/profiles. Loaded on first use."""

    def __init__(self, profiles_dir: Path) -> None:
        self.profiles_dir = profiles_dir
        self._profiles: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._profiles is None:
            self._profiles = load_enterprise_profiles(self.profiles_dir)
        return self._profiles

    def get(self, enterprise_id: str) -> Mapping[str, Any] | None:
        return self._load().get(enterprise_id)

    def all(self) -> list[Mapping[str, Any]]:
        return list(self._load().values())


class MemoryEnterpriseProfiles:
    def __init__(self, profiles: Iterable[Mapping[str, Any]]) -> None:
        self._profiles = {str(p["id"]): p for p in profiles}

    def get(self, enterprise_id: str) -> Mapping[str, Any] | None:
        return self._profiles.get(enterprise_id)

    def all(self) -> list[Mapping[str, Any]]:
        return list(self._profiles.values())


def load_enterprise_profiles(profiles_dir: Path) -> dict[str, dict[str, Any]]:
    """Read `enterprises_synthetic.jsonl` and `enterprises/*.yaml` (kind: enterprise) into flat profiles."""
    out: dict[str, dict[str, Any]] = {}
    jsonl = profiles_dir / "enterprises_synthetic.jsonl"
    if jsonl.exists():
        for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise PolicyError(f"{jsonl}:{n}: not valid JSON ({exc.msg}); regenerate it with "
                                      "samples/profiles/make_synthetic_enterprises.py") from None
                _add(out, record, f"{jsonl}:{n}")
    for path in sorted((profiles_dir / "enterprises").glob("*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(record, dict) and record.get("kind", "enterprise") == "enterprise":
            _add(out, record, str(path))
    return out


def _add(out: dict[str, dict[str, Any]], record: Mapping[str, Any], where: str) -> None:
    enterprise_id = record.get("id")
    if not isinstance(enterprise_id, str) or not enterprise_id:
        raise PolicyError(f"{where}: a profile needs an 'id'")
    if enterprise_id in out:
        raise PolicyError(f"{where}: duplicate enterprise id {enterprise_id!r}; ids must be unique")
    out[enterprise_id] = {k: record[k] for k in PROFILE_KEYS if k in record}


# -- the policy catalogue ------------------------------------------------------------------------------
class Citation(Value):
    item_id: str
    version: int
    title: str
    doc_number: str | None = None  # 文号
    issuer: str | None = None
    owner: str


class CatalogPolicy(Value):
    citation: Citation
    terms: PolicyTerms | None = None
    error: str | None = None  # the published conditions could not be parsed


def load_policy_catalog(store: SqlStore, as_of: dt.date) -> list[CatalogPolicy]:
    """Every published policy for 法人 in force at `as_of`, with its parsed terms."""
    out: list[CatalogPolicy] = []
    for live in sorted(store.live_versions().values(), key=lambda v: v.item_id):
        if live.kind != Kind.POLICY or Audience.ENTERPRISE not in live.audience or not live.in_force(as_of):
            continue
        version = store.get_version(live.item_id, live.version)
        content = version.content
        citation = Citation(item_id=live.item_id, version=live.version, title=content.title,
                            doc_number=content.doc_number, issuer=content.issuer, owner=live.owner)
        try:
            out.append(CatalogPolicy(citation=citation, terms=parse_policy_terms(content.extra)))
        except EligibilityError as exc:
            log.warning("policy %s v%d has invalid conditions: %s", live.item_id, live.version, exc)
            out.append(CatalogPolicy(citation=citation, error=str(exc)))
    return out


# -- results -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PolicyMatch:
    """One policy's verdict for one enterprise (a dataclass: built ~3,000 times per 250 enterprises)."""

    policy_id: str
    version: int
    title: str
    verdict: Outcome
    citation: Citation
    mianshen: bool = False
    conditions: tuple[NodeResult, ...] = ()  # every node, pre-order; leaves carry the profile value used
    missing_fields: tuple[str, ...] = ()
    amount: AmountResult | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "policy_id": self.policy_id, "version": self.version, "title": self.title, "verdict": self.verdict.value,
            "mianshen": self.mianshen, "citation": self.citation.model_dump(mode="json"),
            "conditions": [n.as_json() for n in self.conditions], "missing_fields": list(self.missing_fields),
            "amount": self.amount.as_json() if self.amount else None, "note": self.note,
        }


class Notification(Value):
    id: str
    enterprise_id: str
    policy_id: str
    policy_version: int
    doc_number: str | None
    amount: float | None
    as_of: dt.date
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class MatchReport:
    enterprise_id: str
    enterprise_name: str | None
    as_of: dt.date
    matches: tuple[PolicyMatch, ...]
    notifications: tuple[Notification, ...] = ()  # one per eligible 免申即享 policy version (earlier or new)
    created: tuple[str, ...] = ()  # ids of the notifications this run created (the others existed already)

    def notification_for(self, policy_id: str, version: int) -> Notification | None:
        return next((n for n in self.notifications if (n.policy_id, n.policy_version) == (policy_id, version)), None)

    def by_verdict(self, verdict: Outcome) -> list[PolicyMatch]:
        return [m for m in self.matches if m.verdict == verdict]

    def as_json(self) -> dict[str, Any]:
        return {
            "enterprise_id": self.enterprise_id, "enterprise_name": self.enterprise_name,
            "as_of": self.as_of.isoformat(), "policies": [m.as_json() for m in self.matches],
            "notifications": [n.model_dump(mode="json") | {"new": n.id in self.created} for n in self.notifications],
        }


def match_policy(policy: CatalogPolicy, profile: Mapping[str, Any] | PreparedProfile, as_of: dt.date) -> PolicyMatch:
    c = policy.citation
    base: dict[str, Any] = dict(policy_id=c.item_id, version=c.version, title=c.title, citation=c)
    if policy.error is not None:
        return PolicyMatch(**base, verdict=Outcome.NEEDS_INFO, note=f"条件配置有误，请人工核对：{policy.error}")
    terms = policy.terms
    assert terms is not None
    if terms.eligibility is None:
        return PolicyMatch(**base, verdict=Outcome.NEEDS_INFO, mianshen=terms.mianshen,
                           note="该政策未提供可机读的申报条件，请对照“申报条件”人工核对")
    ev = evaluate(terms.eligibility, profile, as_of=as_of)
    amount = None
    if terms.amount is not None and ev.outcome == Outcome.ELIGIBLE:
        amount = compute_amount(terms.amount, profile, as_of=as_of)
    return PolicyMatch(**base, verdict=ev.outcome, mianshen=terms.mianshen, conditions=ev.nodes,
                       missing_fields=ev.missing_fields, amount=amount)


# -- notifications (免申即享) ----------------------------------------------------------------------------
notifications = sa.Table(
    "mianshen_notifications",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("enterprise_id", sa.String(128), nullable=False, index=True),
    sa.Column("policy_id", sa.String(128), nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False),
    sa.Column("doc_number", sa.String(200), nullable=True),
    sa.Column("amount", sa.Float, nullable=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("enterprise_id", "policy_id", "policy_version", name="uq_mianshen_once"),
)


def _notification(r: Any) -> Notification:
    created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=dt.UTC)
    return Notification(id=r.id, enterprise_id=r.enterprise_id, policy_id=r.policy_id,
                        policy_version=r.policy_version, doc_number=r.doc_number, amount=r.amount, as_of=r.as_of,
                        created_at=created)


class NotificationStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, due: list[tuple[str, PolicyMatch]], as_of: dt.date) -> list[tuple[Notification, bool]]:
        """Record a notification per (enterprise, policy version) unless one exists: [(record, created)].

        One transaction for the batch; the unique constraint settles a race with a concurrent run.
        """
        if not due:
            return []
        try:
            return self._add_many(due, as_of)
        except IntegrityError:  # another process inserted one of them meanwhile: retry, now finding theirs
            return self._add_many(due, as_of)

    def _add_many(self, due: list[tuple[str, PolicyMatch]], as_of: dt.date) -> list[tuple[Notification, bool]]:
        out: list[tuple[Notification, bool]] = []
        with self.engine.begin() as conn:
            existing = {
                (r.enterprise_id, r.policy_id, r.policy_version): _notification(r)
                for r in conn.execute(sa.select(notifications).where(
                    notifications.c.policy_id.in_(sorted({m.policy_id for _, m in due}))))
            }
            rows: list[dict[str, Any]] = []
            for enterprise_id, match in due:
                found = existing.get((enterprise_id, match.policy_id, match.version))
                if found is not None:
                    out.append((found, False))
                    continue
                values = dict(id=f"n-{uuid.uuid4().hex[:16]}", enterprise_id=enterprise_id, policy_id=match.policy_id,
                              policy_version=match.version, doc_number=match.citation.doc_number,
                              amount=match.amount.value if match.amount else None, as_of=as_of, created_at=utcnow())
                record = Notification(**values)
                existing[(enterprise_id, match.policy_id, match.version)] = record
                rows.append(values)
                out.append((record, True))
            if rows:
                conn.execute(notifications.insert(), rows)
        return out

    def list(self, enterprise_id: str | None = None) -> list[Notification]:
        q = sa.select(notifications).order_by(notifications.c.created_at, notifications.c.id)
        if enterprise_id:
            q = q.where(notifications.c.enterprise_id == enterprise_id)
        with self.engine.begin() as conn:
            return [_notification(r) for r in conn.execute(q)]


# -- the service ---------------------------------------------------------------------------------------
class PolicyMatchService:
    """Matches enterprises against the live policy catalogue; the catalogue is cached per KB generation."""

    def __init__(self, store: SqlStore, profiles: EnterpriseDirectory, notifications: NotificationStore,
                 events: EventSink | None = None) -> None:
        self.store = store
        self.profiles = profiles
        self.notifications = notifications
        self.events = events or NullSink()
        self._cache: tuple[int, dt.date, list[CatalogPolicy]] | None = None
        self._lock = threading.Lock()

    def catalog(self, as_of: dt.date) -> list[CatalogPolicy]:
        generation = self.store.generation()
        with self._lock:
            if self._cache is None or self._cache[:2] != (generation, as_of):
                self._cache = (generation, as_of, load_policy_catalog(self.store, as_of))
            return self._cache[2]

    def profile(self, enterprise_id: str) -> Mapping[str, Any]:
        profile = self.profiles.get(enterprise_id)
        if profile is None:
            raise UnknownEnterpriseError(
                f"no enterprise profile {enterprise_id!r}; ids look like e-syn-0001 or e-demo-catering "
                "(see samples/profiles)"
            )
        return profile

    def match_enterprise(self, enterprise_id: str, as_of: dt.date, notify: bool = True) -> MatchReport:
        return self.match_profile(self.profile(enterprise_id), as_of, notify=notify)

    def match_profile(self, profile: Mapping[str, Any], as_of: dt.date, notify: bool = True) -> MatchReport:
        return self._match_many([profile], as_of, notify)[0]

    def match_all(self, as_of: dt.date, notify: bool = False) -> list[MatchReport]:
        """Every known enterprise against one snapshot of the catalogue."""
        return self._match_many(self.profiles.all(), as_of, notify)

    def _match_many(self, profiles: list[Mapping[str, Any]], as_of: dt.date, notify: bool) -> list[MatchReport]:
        catalog = self.catalog(as_of)
        matched: list[tuple[Mapping[str, Any], list[PolicyMatch]]] = []
        for profile in profiles:
            prepared = prepare_profile(profile, as_of)  # typed field values, shared by every policy
            results = [match_policy(p, prepared, as_of) for p in catalog]
            results.sort(key=lambda m: (_ORDER[m.verdict], m.policy_id))
            matched.append((profile, results))
        records: dict[str, list[Notification]] = {}
        created: set[str] = set()
        if notify:
            due = [(str(profile["id"]), m) for profile, results in matched if profile.get("id")
                   for m in results if m.mianshen and m.verdict == Outcome.ELIGIBLE]
            for record, new in self.notifications.add_many(due, as_of):
                records.setdefault(record.enterprise_id, []).append(record)
                if new:
                    created.add(record.id)
                    self.events.record(
                        "policy.mianshen_notified", ACTOR,
                        f"{record.enterprise_id}:{record.policy_id}:{record.policy_version}",
                        {"notification_id": record.id, "doc_number": record.doc_number, "amount": record.amount,
                         "as_of": as_of.isoformat()},
                    )
        reports = []
        for profile, results in matched:
            mine = tuple(records.get(str(profile.get("id")), ()))
            reports.append(MatchReport(
                enterprise_id=str(profile.get("id") or ""), enterprise_name=profile.get("name"), as_of=as_of,
                matches=tuple(results), notifications=mine, created=tuple(n.id for n in mine if n.id in created)))
        return reports


def build_policy_matching(store: SqlStore, profiles_dir: Path, events: EventSink | None = None) -> PolicyMatchService:
    """Composition: the file profiles of `profiles_dir`, notification table (made by the migrations) on the KB's
    engine."""
    return PolicyMatchService(store, FileEnterpriseProfiles(profiles_dir), NotificationStore(store.engine), events)


def explain_matches(report: MatchReport) -> str:
    """A short Chinese answer to "我们公司能享受哪些政策？", every policy with its citation."""

    def cite(m: PolicyMatch) -> str:
        doc = f"，{m.citation.doc_number}" if m.citation.doc_number else ""
        return f"《{m.title}》（{m.policy_id} 第{m.version}版{doc}）"

    eligible = report.by_verdict(Outcome.ELIGIBLE)
    needs = report.by_verdict(Outcome.NEEDS_INFO)
    lines: list[str] = []
    if eligible:
        lines.append(f"根据贵单位档案（截至{report.as_of.isoformat()}），符合以下政策条件：")
        for n, m in enumerate(eligible, 1):
            how = "免申即享，无需申请" if m.mianshen else "需依申请办理"
            money = f"，测算金额约{m.amount.value:,.0f}元" if m.amount and m.amount.value is not None else ""
            lines.append(f"{n}. {cite(m)}：{how}{money}。")
    else:
        lines.append("根据贵单位档案，暂未匹配到符合条件的现行政策。")
    if needs:
        lines.append("以下政策还需补充信息后才能判断：")
        for m in needs:
            missing = "、".join(FIELD_LABELS.get(f, f) for f in m.missing_fields) or (m.note or "人工核对")
            lines.append(f"- {cite(m)}：需补充 {missing}")
    lines.append("以上为系统根据档案数据的初步比对结果，最终以主管部门审核为准。")
    return "\n".join(lines)

