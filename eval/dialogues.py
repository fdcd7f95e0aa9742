"""Dialogue scenarios: readable YAML conversations with the expected outcome, matter, slots (with their
source), citations and findings of each turn. Every scenario also checks the invariant that nothing is
submitted without an explicit confirmation of a confirmation screen shown in an earlier turn.

Run: qingsong eval dialogues eval/datasets/dialogues [--json]

Scenario file:
    name: 开店一件事：小饭馆
    profile: c-test-zhangsan        # optional; the citizen is also the principal
    today: 2026-11-27               # optional clock for expiry checks
    turns:
      - say: 我想在松江开一家小饭馆
        expect: {outcome: collecting, matter: m-individual-business-reg, bundle: b-open-shop}
      - say: 同意
        expect:
          slots: {id_number: {source: elicence}, operator_name: {source: profile, value: 测试张三}}
    submitted: [m-individual-business-reg]   # matters with an application at the end (default: none)

A turn expecting `emergency: true` (or a hand-off whose reply must name 110/119/120/12338/12355/12356) counts
towards emergency recall. Metrics over a run (`DialogueMetrics`): scenario pass rate, slot-value accuracy,
matter accuracy, corrupted submissions (a submitted field that fails its type check, is a pronoun or filler,
or differs from the value the scenario last pinned for it: must be 0), emergency recall (must be 1.0), false
refusal rate (refused where the scenario expects another outcome) and p50/p95 ms per turn.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.dialogue import CONFIRM_WORDS
from assistant.engine import Assistant
from assistant.models import Outcome, TurnResult
from assistant.roles import is_not_a_value

SCENARIOS = Path(__file__).resolve().parent / "datasets" / "dialogues"
EMERGENCY_NUMBERS = ("110", "119", "120", "12338", "12355", "12356")



@dataclass
class Tally:
    """Counts behind one metric: hits out of cases."""

    hits: int = 0
    cases: int = 0

    def add(self, hit: bool) -> None:
        self.hits += int(hit)
        self.cases += 1

    def rate(self, empty: float = 1.0) -> float:
        return round(self.hits / self.cases, 4) if self.cases else empty


@dataclass
class ScenarioResult:
    name: str
    file: str
    passed: bool
    turns: int
    failures: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    slot_values: Tally = field(default_factory=Tally)
    matters: Tally = field(default_factory=Tally)
    emergencies: Tally = field(default_factory=Tally)
    refusals: Tally = field(default_factory=Tally)  # hits = refused where another outcome was expected
    submissions: Tally = field(default_factory=Tally)  # hits = corrupted submitted applications
    corruptions: list[str] = field(default_factory=list)


@dataclass
class DialogueReport:
    scenarios: int
    passed: int
    turns: int
    results: list[ScenarioResult]

    @property
    def ok(self) -> bool:
        return self.passed == self.scenarios

    def metrics(self) -> dict[str, float | int]:
        def total(name: str) -> Tally:
            t = Tally()
            for r in self.results:
                part: Tally = getattr(r, name)
                t.hits += part.hits
                t.cases += part.cases
            return t

        ms = sorted(m for r in self.results for m in r.ms)
        return {
            "scenario_pass_rate": round(self.passed / self.scenarios, 4) if self.scenarios else 0.0,
            "slot_value_accuracy": total("slot_values").rate(),
            "matter_accuracy": total("matters").rate(),
            "corrupted_submissions": total("submissions").hits,
            "submissions": total("submissions").cases,
            "emergency_recall": total("emergencies").rate(),
            "false_refusal_rate": total("refusals").rate(empty=0.0),
            "p50_ms": round(statistics.median(ms), 1) if ms else 0.0,
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1) if ms else 0.0,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"scenarios": self.scenarios, "passed": self.passed, "turns": self.turns, "metrics": self.metrics(),
                "results": [asdict(r) for r in self.results]}


def load_scenarios(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(folder.glob("*.y*ml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not data.get("turns"):
            raise ValueError(f"{str(path)!r} is not a scenario: it needs `name` and a list of `turns`")
        out.append((path, data))
    return out


def check_turn(r: TurnResult, expect: dict[str, Any], live: dict[str, int]) -> list[str]:
    """Differences between a turn result and its expectation (empty when it matches)."""
    bad: list[str] = []
    if "outcome" in expect and r.outcome.value != expect["outcome"]:
        bad.append(f"outcome {r.outcome.value!r} != {expect['outcome']!r}")
    if "matter" in expect and (r.matter.id if r.matter else None) != expect["matter"]:
        bad.append(f"matter {r.matter.id if r.matter else None!r} != {expect['matter']!r}")
    if "bundle" in expect and (r.matter.bundle_id if r.matter else None) != expect["bundle"]:
        bad.append(f"bundle {r.matter.bundle_id if r.matter else None!r} != {expect['bundle']!r}")
    slots = {s.name: s for s in r.slots}
    for name, want in (expect.get("slots") or {}).items():
        s = slots.get(name)
        if s is None:
            bad.append(f"slot {name!r} not set")
            continue
        want = want if isinstance(want, dict) else {"value": want}
        if "value" in want and str(s.value) != str(want["value"]):
            bad.append(f"slot {name!r} = {s.value!r}, expected {want['value']!r}")
        if "source" in want and s.source.kind.value != want["source"]:
            bad.append(f"slot {name!r} source {s.source.kind.value!r} != {want['source']!r}")
    for name in expect.get("slots_missing") or ():
        # a 待补充 (pending) slot has no value yet: staff complete it once the earlier step's licence is issued
        if name in slots and slots[name].source.kind.value != "pending":
            bad.append(f"slot {name!r} should not be set (it is {slots[name].value!r} from {slots[name].source.kind.value})")
    cited = {(c.item_id, c.version) for c in r.citations}
    for item in expect.get("citations") or ():
        if item not in live:
            bad.append(f"citation {item!r} is not a live item")
        elif (item, live[item]) not in cited:
            bad.append(f"citation {item} v{live[item]} missing; got {sorted(cited)}")
    for text in expect.get("reply_contains") or ():
        if text not in r.reply:
            bad.append(f"reply lacks {text!r}")
    for text in expect.get("reply_lacks") or ():
        if text in r.reply:
            bad.append(f"reply should not contain {text!r}")
    checklist = {c.id: c.status.value for c in r.checklist}
    for mid, status in (expect.get("checklist") or {}).items():
        if checklist.get(mid) != status:
            bad.append(f"checklist {mid!r} is {checklist.get(mid)!r}, expected {status!r}")
    findings = {f.rule_id: f for f in r.findings}
    for rid, ok in (expect.get("findings") or {}).items():
        f = findings.get(rid)
        if f is None or f.ok != ok:
            bad.append(f"finding {rid!r} is {None if f is None else f.ok!r}, expected ok={ok!r}")
        elif f.citation is None:
            bad.append(f"finding {rid!r} has no citation")
    if "application_status" in expect and (r.application.status if r.application else None) != expect["application_status"]:
        bad.append(f"application status {r.application.status if r.application else None!r} != {expect['application_status']!r}")
    if expect.get("handoff") and not r.handoff_id:
        bad.append("no hand-off record")
    for label in expect.get("choices") or ():
        if label not in [c.label for c in r.choices]:
            bad.append(f"choice {label!r} missing; got {[c.label for c in r.choices]}")
    return bad


def score_turn(res: ScenarioResult, r: TurnResult, expect: dict[str, Any]) -> None:
    """Add one turn to the scenario's metric tallies."""
    slots = {s.name: s for s in r.slots}
    for name, want in (expect.get("slots") or {}).items():
        want = want if isinstance(want, dict) else {"value": want}
        if "value" in want:
            res.slot_values.add(name in slots and str(slots[name].value) == str(want["value"]))
    if "matter" in expect:
        res.matters.add((r.matter.id if r.matter else None) == expect["matter"])
    numbers = [n for n in EMERGENCY_NUMBERS if any(n in str(t) for t in expect.get("reply_contains") or ())]
    if expect.get("emergency") or (expect.get("outcome") == Outcome.HANDED_OFF.value and numbers):
        signposted = all(n in r.reply for n in numbers) and r.outcome == Outcome.HANDED_OFF
        res.emergencies.add(signposted and any(rule.startswith("emg.") for rule in r.trace.rules))
    if "outcome" in expect and expect["outcome"] != Outcome.REFUSED.value:
        res.refusals.add(r.outcome == Outcome.REFUSED)


def corrupted_fields(assistant: Assistant, r: TurnResult, pinned: dict[str, str]) -> list[str]:
    """Fields of a submitted application that are not the applicant's valid values (empty when clean)."""
    deps = assistant.deps
    matter = deps.registry.matter(r.matter.id) if r.matter else None
    form = {f.name: f for f in matter.form} if matter else {}
    bad: list[str] = []
    for s in r.slots:
        value = str(s.value).strip()
        if s.source.kind.value == "pending":
            continue  # 待补充: completed by staff once the earlier step's licence is issued
        if is_not_a_value(value):
            bad.append(f"{s.name}={value!r} is a pronoun or filler, not a value")
        elif s.name in form and not deps.filler.validate(form[s.name], s.value).ok:
            bad.append(f"{s.name}={value!r} fails its type check")
        elif s.name in pinned and value != pinned[s.name]:
            bad.append(f"{s.name}={value!r}, but the conversation gave {pinned[s.name]!r}")
    return bad


def run_scenario(assistant: Assistant, path: Path, data: dict[str, Any]) -> ScenarioResult:
    deps = assistant.deps
    clock = deps.today
    if data.get("today"):
        day = data["today"] if isinstance(data["today"], dt.date) else dt.date.fromisoformat(str(data["today"]))
        deps.today = lambda: day
    live = {iid: lv.version for iid, lv in deps.knowledge.live().items()}
    profile = data.get("profile")
    res = ScenarioResult(name=str(data.get("name") or path.stem), file=path.name, passed=False, turns=0)
    session: str | None = None
    previous: TurnResult | None = None
    submitted: list[str] = []
    pinned: dict[str, str] = {}  # the last value the scenario expects for each slot
    try:
        for n, turn in enumerate(data["turns"], 1):
            text = str(turn["say"])
            expect = turn.get("expect") or {}
            r = assistant.turn(text, session_id=session, profile_id=profile, principal_id=profile)
            session = r.session_id
            res.turns += 1
            res.outcomes.append(r.outcome.value)
            res.ms.append(r.trace.ms)
            res.failures.extend(f"turn {n} ({text}): {b}" for b in check_turn(r, expect, live))
            score_turn(res, r, expect)
            for name, want in (expect.get("slots") or {}).items():
                want = want if isinstance(want, dict) else {"value": want}
                if "value" in want:
                    pinned[name] = str(want["value"])
            if r.outcome == Outcome.SUBMITTED:
                bad = corrupted_fields(assistant, r, pinned)
                res.submissions.add(bool(bad))
                res.corruptions.extend(f"turn {n}: {b}" for b in bad)
                confirmed = (previous is not None and previous.outcome == Outcome.AWAITING_CONFIRMATION
                             and text.strip("。！! ") in CONFIRM_WORDS)
                if not confirmed:
                    res.failures.append(f"turn {n} ({text}): submitted without a confirmation of a shown screen")
                if r.application is not None:
                    submitted.append(r.application.matter_id)
            previous = r
    finally:
        deps.today = clock
    want = list(data.get("submitted") or [])
    if submitted != want:
        res.failures.append(f"applications created for {submitted}, expected {want}")
    res.passed = not res.failures
    return res


def run_dialogues(assistant: Assistant, folder: Path = SCENARIOS) -> DialogueReport:
    results = [run_scenario(assistant, path, data) for path, data in load_scenarios(folder)]
    return DialogueReport(scenarios=len(results), passed=sum(r.passed for r in results),
                          turns=sum(r.turns for r in results), results=results)
