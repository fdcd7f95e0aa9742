"""Flexible 一件事: steps already done are skipped, a result still pending is carried, any step can start.

- A step whose result exists is skipped with a note: the matter `produces` an e-licence that the person's
  profile already holds (出生医学证明, 营业执照), or the person says it is done ("营业执照已经办好了", "跳过"),
  recorded with source 本人声明.
- A field that needs an earlier step's output (统一社会信用代码 before the licence is issued) takes
  "还没有，营业执照还没下来" as a pending value that staff complete later, instead of looping on it.
- "从食品经营许可开始" starts the bundle at that step.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from assistant.catalog import FormField, Matter, MatterBundle, MatterRegistry
from assistant.profiles import ELicence, Profile

DONE = re.compile(r"(已经|早就|早已|已|都)[^，,。！!？?]{0,6}(办好|办过|办完|办下来|领了|领过|领到|拿到|有了|下来了|批下来|给了|"
                  r"发了|开好了|弄好了|搞定|办妥|批了)|"
                  r"^(跳过|跳过这一?(步|项)|这一?(步|项)不用办|不用办了?|已经办了|办好了|有了)[。！!]*$|"
                  r"[，,]\s*(跳过|跳过这一?(步|项)|这一?(步|项)不用办)[。！!]*$")
PENDING = re.compile(r"还没(有|下来|出来|办好|拿到|领到|批|发)|没下来|没出来|还在办|在等|没拿到|暂时没有|还没办|先空着|空着|"
                     r"不在手上|不在身边|没带|找不到|还没领")
START_AT = re.compile(r"从(?P<x>[^，,。！!？?]{2,16}?)(?:开始|办起|起办|弄起|做起)|"
                      r"(?:现在要|现在想|现在到|接下来要?|只剩下?|就剩下?|还剩下?|就差|还差|只差|剩下|后面的|先把|先办|先弄)"
                      r"(?:办|弄|取|领|申请|提)?(?P<y>[^，,。！!？?]{2,12})")
_STEP_TAIL = re.compile(r"(?:那一?步|这一?步|那一?项|这一?项|那块|这块|环节|那里|的|没办|还没办|没弄|还没弄|了|接着办|继续办|一起填|一起办|"
                        r"填了|想一起办)+$")
PENDING_VALIDATORS = ("uscc",)
# What people call a step's result ("营业执照已经办好了" means the 设立登记 step is done).
PRODUCT_NAMES: dict[str, tuple[str, ...]] = {
    "business_license": ("营业执照", "执照"),
    "food_license": ("食品经营许可证", "食品经营许可", "食品许可证", "食品许可", "食品证"),
    "birth_cert": ("出生医学证明", "出生证明", "出生证"),
    "marriage_cert": ("结婚证",),
}


@dataclass(frozen=True)
class Skip:
    """A bundle step not done here, and why (shown to the citizen, kept in the trace)."""

    matter_id: str
    reason: str  # "elicence" or "declared" (本人声明)
    note: str


def existing_result(matter: Matter, profile: Profile | None, today: dt.date) -> ELicence | None:
    """The valid e-licence that this matter would issue, if the person already holds it."""
    if profile is None or not matter.produces:
        return None
    found = profile.licence(matter.produces)
    return found if found is not None and not found.expired(today) else None


def says_done(text: str) -> bool:
    return bool(DONE.search(text))


def names_step(registry: MatterRegistry, bundle: MatterBundle, text: str) -> int | None:
    """The step a message names ("食品经营许可", "招牌"), by matter name or alias."""
    for partial in (False, True):
        for n, mid in enumerate(bundle.matters):
            m = registry.matter(mid)
            names = (m.name, *m.aliases, *PRODUCT_NAMES.get(m.produces or "", ()))
            if any(name and (name in text or (len(name) >= 4 and name[:4] in text)) for name in names):
                return n
            if partial and len(text) >= 2 and any(text in name for name in names):
                return n  # "税务", "招牌", "注册": a part of a step's name or alias
    return None


def named_steps(registry: MatterRegistry, bundle: MatterBundle, text: str) -> set[int]:
    """The steps a message names outright ("要办执照、办食品许可，还有门口的招牌"), by name, alias or result."""
    found: set[int] = set()
    for n, mid in enumerate(bundle.matters):
        m = registry.matter(mid)
        names = (m.name, *m.aliases, *PRODUCT_NAMES.get(m.produces or "", ()))
        if any(name and len(name) >= 2 and name in text and not _as_means(text, name) for name in names):
            found.add(n)
    return found


def _as_means(text: str, name: str) -> bool:
    """Every mention of `name` is a means, not a step to do: "钱从社保卡里扣", "用社保卡交", "打到社保卡上"."""
    means = re.compile(rf"(?:从|用|拿|刷|往|打到|存到|转到|打进)\s*{re.escape(name)}|{re.escape(name)}(?:里|上|账户)?(?:扣|代扣|支付|付|交|缴)")
    return len(means.findall(text)) >= text.count(name)


def start_step(registry: MatterRegistry, bundle: MatterBundle, text: str) -> int:
    """Where a bundle starts: the step named in 从…开始 (of "从注册到刻章…", the first), 现在要…, 只剩…, 就差…;
    else the first."""
    for m in START_AT.finditer(text):
        x = re.split(r"到|跟|和|与|、|以及|还有|\s", (m.group("x") or m.group("y") or "").strip())[0]  # the first step named
        x = _STEP_TAIL.sub("", x.strip())
        named = names_step(registry, bundle, x) if len(x) >= 2 else None
        if named is not None:
            return named
    return 0


def skip_done(registry: MatterRegistry, bundle: MatterBundle, step: int, profile: Profile | None, text: str,
              today: dt.date) -> tuple[int, list[Skip]]:
    """From `step` on, skip the steps whose result exists; return the first step to do and the skips."""
    skips: list[Skip] = []
    # the steps named in the clauses that say something is done ("养老金那块单位已经帮我办好了"), not elsewhere
    done_clauses = [c for c in re.split(r"[，,。；;！!？?]", text) if c and says_done(c)]
    named = {n for c in done_clauses for n in named_steps(registry, bundle, c)}
    if done_clauses and not named and says_done(text):
        single = names_step(registry, bundle, text)
        named = {single} if single is not None and len(done_clauses) == 1 and single == step else set()
    while step < len(bundle.matters):
        matter = registry.matter(bundle.matters[step])
        licence = existing_result(matter, profile, today)
        if licence is not None:
            skips.append(Skip(matter.id, "elicence", f"您的电子证照中已有《{licence.name}》（{licence.issuer}），"
                                                     f"“{matter.name}”无需再办，已跳过。"))
        elif step in named:
            skips.append(Skip(matter.id, "declared", f"您说“{matter.name}”已经办好（本人声明），已跳过这一项。"))
        else:
            break
        step += 1
    return step, skips


def pending_field(field: FormField | None, text: str, bundle: MatterBundle | None, step: int,
                  registry: MatterRegistry) -> str | None:
    """The earlier step whose output this field waits for, when the person says it is not issued yet."""
    if field is None or not PENDING.search(text):
        return None
    if field.validator is None or field.validator.name not in PENDING_VALIDATORS:
        return None
    if bundle is None or step == 0:
        return "营业执照核发"  # the licence is on its way elsewhere: staff complete the code
    earlier = [registry.matter(mid) for mid in bundle.matters[:step]]
    return next((m.name for m in reversed(earlier) if m.produces), "营业执照核发")
