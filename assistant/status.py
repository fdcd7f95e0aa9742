"""办件进度: "我的申请到哪一步了" answers from the person's applications; it never starts a new one.

A logged-in citizen sees all of theirs (the same list as 我的办件, /me); an anonymous browser cannot submit, so it
is asked to log in; sessions run by an operator (the CLI) see what was submitted in the session.
"""

from __future__ import annotations

import re

from assistant.context import Deps, TurnContext
from assistant.models import Outcome
from guardrails.applications import status_label

STATUS_QUERY = re.compile(
    r"(申请|办件|材料|审核|审批|进度|手续|证|执照|补贴|低保|津贴|养老金|失业金)[^。？?！!]{0,8}"
    r"(到哪(?!里?去|儿去|里办|儿办|里申请)|哪一步|哪步|进度|怎么样了|咋样了|结果|批了没|批下来|批没批|通过了没|有没有通过|审完|审好|办好了没|办完了没)"
    r"|审到哪|到哪一步|办到哪|进度(怎么|如何)?查|查(一下|下)?(办件)?进度"
    r"|(交上去|提交|递上去|申请)的?[^。？?！!]{0,10}(到什么地步|到哪了|到哪儿了|怎么样了|咋样了|有消息|批了没|什么时候批)"
    r"|(现在|目前)(到|办到|审到)(什么地步|哪了|哪儿了|哪个环节)|(现在|目前)?(是)?(什么|啥)状态|状态(怎么样|如何)"
)
LOGIN_FOR_STATUS = ("查询办件进度需要先登录：请点击页面上方的“登录”，登录后在“我的办件”里可以看到每件申请的办理进度、"
                    "工作人员的留言和补正要求。")


def asks_status(text: str) -> bool:
    return bool(STATUS_QUERY.search(text))


def answer_status(deps: Deps, ctx: TurnContext) -> None:
    """List the person's applications with their status in plain Chinese (never a raw code)."""
    s = ctx.state
    apps = {a.id: a for a in deps.applications.list(citizen=s.principal_id)} if s.principal_id else {}
    for ref in s.completed:
        if ref.id and ref.id not in apps:
            apps[ref.id] = deps.applications.get(ref.id)
    ctx.rules.append(f"status.listed:{len(apps)}")
    if s.matter_id and s.phase.value in ("situation", "consent", "collect", "confirm"):
        # the form open in this chat is not submitted yet: say how far it got
        matter = deps.registry.matter(s.matter_id, s.matter_version)
        needed = [f for f in matter.form if f.required]
        done = sum(1 for f in needed if f.name in s.slots)
        ctx.say(f"您正在办理的“{matter.name}”还没有提交：必填的{len(needed)}项已填{done}项，填完核对后回复“确认提交”即可提交。")
    if not apps and s.matter_id and s.phase.value in ("situation", "consent", "collect", "confirm"):
        ctx.finish(Outcome.ANSWERED)
        return
    if not apps and s.principal_id is None and s.visitor is not None:
        ctx.finish(Outcome.ANSWERED, LOGIN_FOR_STATUS)
        return
    if not apps:
        ctx.finish(Outcome.ANSWERED, "暂时没有查到您通过本助手提交的申请。如果是在窗口或其他渠道提交的，可登录“一网通办”"
                                     "查询办件进度，也可以回复“转人工”，由工作人员帮您查询。")
        return
    lines = []
    for n, a in enumerate(sorted(apps.values(), key=lambda a: a.created_at), 1):
        name = deps.registry.title(a.matter_id) if a.matter_id in deps.registry else "办件"
        line = f"{n}. {name}（申请编号 {a.id}，{a.created_at:%Y-%m-%d} 提交）：{status_label(a.status)}"
        if a.return_reason:
            line += f"，工作人员留言：{a.return_reason}"
        lines.append(line)
    more = "\n每件申请的办理进度、留言和填写内容可在“我的办件”页面查看。" if s.principal_id else ""
    ctx.finish(Outcome.ANSWERED, "您的申请进度如下：\n" + "\n".join(lines) + more)
