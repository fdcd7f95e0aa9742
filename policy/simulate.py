"""政策演算器: before a policy is issued, run its draft conditions over every enterprise profile.

Reports how many enterprises would qualify, which conditions exclude most, which missing data leaves
enterprises undecided, and the total cost where the draft states an amount formula. The draft is a
Markdown file with front matter in the same format as samples/kb/policies (docs/authoring.md).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from policy.eligibility import (
    EligibilityError,
    Group,
    Node,
    Outcome,
    PolicyTerms,
    Verdict,
    compute_amount,
    evaluate,
    parse_policy_terms,
)
from policy.errors import PolicyError

MAX_DRAFT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PolicyDraft:
    path: str
    id: str | None
    title: str | None
    doc_number: str | None
    effective_from: dt.date | None
    terms: PolicyTerms


def read_policy_draft(path: Path) -> PolicyDraft:
    """Read the front matter of a draft policy file; the conditions are validated, nothing is executed."""
    if not path.is_file():
        raise PolicyError(f"{path}: no such file; give the path of a policy draft (.md with front matter)")
    raw = path.read_bytes()
    if len(raw) > MAX_DRAFT_BYTES:
        raise PolicyError(f"{path}: {len(raw)} bytes is larger than {MAX_DRAFT_BYTES}; is it really a policy draft?")
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        raise PolicyError(f"{path}: no YAML front matter; start the file with '---', the metadata, and '---'")
    end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: the front matter is not valid YAML ({exc})") from None
    if not isinstance(meta, dict):
        raise PolicyError(f"{path}: the front matter must be a mapping of keys to values")
    if meta.get("kind", "policy") != "policy":
        raise PolicyError(f"{path}: kind {meta.get('kind')!r} is not a policy; only policies can be simulated")
    if meta.get("eligibility") is None:
        raise PolicyError(f"{path}: no 'eligibility' conditions, nothing to simulate; see docs/authoring.md")
    try:
        terms = parse_policy_terms(meta)
    except EligibilityError as exc:
        raise PolicyError(f"{path}: {exc}") from None
    effective = meta.get("effective_from")
    if isinstance(effective, str):
        try:
            effective = dt.date.fromisoformat(effective)
        except ValueError:
            raise PolicyError(f"{path}: effective_from {effective!r} is not a date; write YYYY-MM-DD") from None
    return PolicyDraft(path=str(path), id=meta.get("id"), title=meta.get("title"), doc_number=meta.get("doc_number"),
                       effective_from=effective if isinstance(effective, dt.date) else None, terms=terms)


@dataclass
class NodeStats:
    """How one condition (or group) fared over all profiles."""

    path: str
    kind: str
    depth: int
    label: str
    met: int = 0
    not_met: int = 0
    unknown: int = 0
    necessary: bool = False  # every ancestor is `all`: failing it alone makes a profile not eligible
    excluded: int | None = None  # profiles it excludes (necessary nodes only)
    sole_blocker: int | None = None  # profiles that only this top-level condition excludes

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SimulationReport:
    as_of: dt.date
    profiles: int
    eligible: int
    not_eligible: int
    needs_info: int
    nodes: list[NodeStats]
    missing_fields: dict[str, int]
    amount_label: str | None = None
    total_cost: float | None = None  # sum over eligible profiles whose amount could be computed
    cost_unknown: int = 0  # eligible profiles whose amount basis is missing
    cost_if_needs_info_qualify: float | None = None  # upper bound: plus the computable needs_info profiles
    eligible_ids: list[str] = field(default_factory=list)
    policy_id: str | None = None
    title: str | None = None

    def exclusions(self) -> list[NodeStats]:
        """The necessary conditions, most excluding first (the root `all` itself is left out)."""
        chosen = [n for n in self.nodes if n.necessary and not (n.depth == 0 and n.kind == "all")]
        return sorted(chosen, key=lambda n: (-(n.excluded or 0), n.path))

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "nodes"}
        out["as_of"] = self.as_of.isoformat()
        out["conditions"] = [n.as_json() for n in self.nodes]
        out["top_exclusions"] = [{"path": n.path, "label": n.label, "excluded": n.excluded,
                                  "sole_blocker": n.sole_blocker} for n in self.exclusions()]
        return out


def _necessary_paths(node: Node) -> tuple[set[str], list[str]]:
    """Paths of nodes whose every ancestor is an `all` group, and the root's top-level condition paths."""
    necessary = {node.path}
    if isinstance(node, Group) and node.kind == "all":
        top = [c.path for c in node.children]
        stack = list(node.children)
        while stack:
            n = stack.pop()
            necessary.add(n.path)
            if isinstance(n, Group) and n.kind == "all":
                stack.extend(n.children)
        return necessary, top
    return necessary, [node.path]


def _summaries(root: Node) -> dict[str, str]:
    out: dict[str, str] = {}
    stack: list[Node] = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, Group):
            out[n.path] = n.summary()
            stack.extend(n.children)
        else:
            out[n.path] = n.label
    return out


def simulate(terms: PolicyTerms, profiles: Sequence[Mapping[str, Any]], as_of: dt.date) -> SimulationReport:
    """Evaluate a policy's conditions over every profile and aggregate the verdicts."""
    if terms.eligibility is None:
        raise PolicyError("the policy has no eligibility conditions; nothing to simulate")
    root = terms.eligibility
    necessary, top = _necessary_paths(root)
    summaries = _summaries(root)
    stats: dict[str, NodeStats] = {}
    outcomes: Counter[Outcome] = Counter()
    missing: Counter[str] = Counter()
    total, upper, cost_unknown, eligible_ids = 0.0, 0.0, 0, []
    for profile in profiles:
        ev = evaluate(root, profile, as_of=as_of)
        outcomes[ev.outcome] += 1
        for f in ev.missing_fields:
            missing[f] += 1
        verdicts: dict[str, Verdict] = {}
        for n in ev.nodes:
            s = stats.get(n.path)
            if s is None:
                s = stats[n.path] = NodeStats(path=n.path, kind=n.kind, depth=n.depth, label=summaries[n.path],
                                              necessary=n.path in necessary)
            verdicts[n.path] = n.verdict
            if n.verdict == Verdict.MET:
                s.met += 1
            elif n.verdict == Verdict.NOT_MET:
                s.not_met += 1
            else:
                s.unknown += 1
        blockers = [p for p in top if verdicts.get(p) == Verdict.NOT_MET]
        if len(blockers) == 1:
            s = stats[blockers[0]]
            s.sole_blocker = (s.sole_blocker or 0) + 1
        if ev.outcome == Outcome.ELIGIBLE:
            eligible_ids.append(str(profile.get("id", "")))
        if terms.amount is not None and ev.outcome in (Outcome.ELIGIBLE, Outcome.NEEDS_INFO):
            value = compute_amount(terms.amount, profile, as_of=as_of).value
            if ev.outcome == Outcome.ELIGIBLE:
                if value is None:
                    cost_unknown += 1
                else:
                    total += value
            if value is not None:
                upper += value
    for s in stats.values():
        if s.necessary:
            s.excluded = s.not_met
        if s.path in top and s.sole_blocker is None:
            s.sole_blocker = 0
    return SimulationReport(
        as_of=as_of, profiles=len(profiles), eligible=outcomes[Outcome.ELIGIBLE],
        not_eligible=outcomes[Outcome.NOT_ELIGIBLE], needs_info=outcomes[Outcome.NEEDS_INFO],
        nodes=list(stats.values()), missing_fields=dict(missing.most_common()),
        amount_label=terms.amount.label if terms.amount else None,
        total_cost=total if terms.amount else None, cost_unknown=cost_unknown,
        cost_if_needs_info_qualify=upper if terms.amount else None, eligible_ids=eligible_ids,
    )


def simulate_draft(path: Path, profiles: Sequence[Mapping[str, Any]], as_of: dt.date | None = None,
                   today: dt.date | None = None) -> SimulationReport:
    """Simulate a draft file. as_of defaults to its effective_from when that is later than today."""
    draft = read_policy_draft(path)
    today = today or dt.date.today()
    if as_of is None:
        as_of = max(today, draft.effective_from) if draft.effective_from else today
    report = simulate(draft.terms, profiles, as_of)
    report.policy_id, report.title = draft.id, draft.title
    return report
