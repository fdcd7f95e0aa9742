// Reviewer queue: held answers (approve/edit/reject), applications (approve/return), hand-offs to a person
// (accept/close) and disputed bad ratings (confirm/reject).
"use strict";
(async function () {
  const me = await QS.header("/review");
  const held = document.getElementById("held"), apps = document.getElementById("apps");
  const handoffs = document.getElementById("handoffs"), disputes = document.getElementById("disputes");
  if (!["reviewer", "admin", "auditor"].includes(me.role)) {
    const note = me.role === "owner" ? "复核队列仅复核员可见；知识审批见上方。" : "请以复核员身份登录。";
    for (const box of [held, apps, handoffs, disputes]) box.textContent = note;
    return;
  }
  const canAct = ["reviewer", "admin"].includes(me.role);
  const HANDOFF_REASON = {citizen_request: "市民要求转人工", unknown: "助手无法回答", emergency: "紧急情况"};
  const HANDOFF_STATUS = {open: "待接手", accepted: "处理中", closed: "已完成"};
  async function loadHeld() {
    const page = await QS.api("/api/v1/review/held?limit=50");
    held.innerHTML = "";
    if (!page.items.length) held.append(QS.el("p", {class: "muted", id: "held-empty"}, "暂无待复核的答复。"));
    for (const h of page.items) {
      const text = QS.el("textarea", {rows: 4, class: "edit-text"}); text.value = h.answer;
      const reason = QS.el("input", {placeholder: "驳回原因", class: "reject-reason"});
      held.append(QS.el("div", {class: "item held", "data-hold": h.id, "data-turn": h.turn_id},
        QS.el("div", {class: "muted"}, `${h.id} · 轮次 ${h.turn_id} · 原因：${h.reason}`), text,
        QS.el("div", {class: "row"},
          QS.el("button", {class: "approve", onclick: () => act(h.id, "approve")}, "通过并发布"),
          QS.el("button", {class: "secondary edit", onclick: () => act(h.id, "edit", {text: text.value})}, "修改后发布"),
          reason, QS.el("button", {class: "danger reject", onclick: () => act(h.id, "reject", {reason: reason.value || "不宜在线答复"})}, "驳回"))));
    }
  }
  async function act(id, action, body) {
    await QS.api(`/api/v1/review/held/${id}/${action}`, {method: "POST", body});
    QS.toast("已处理 " + id); await loadHeld();
  }
  async function loadApps() {
    const page = await QS.api("/api/v1/review/applications?status=awaiting_staff_review&limit=50");
    apps.innerHTML = "";
    if (!page.items.length) apps.append(QS.el("p", {class: "muted"}, "暂无待审批的申请。"));
    for (const a of page.items) {
      const reason = QS.el("input", {class: "app-reason", maxlength: "500", placeholder: "退回补正或不予受理的原因（申请人可见）"});
      const table = QS.el("table", {class: "app-fields"});
      for (const [k, v] of Object.entries(a.fields)) {
        const src = a.sources && a.sources[k] ? a.sources[k].source : "";
        table.append(QS.el("tr", {"data-field": k}, QS.el("td", {}, a.field_labels[k] || "其他信息"), QS.el("td", {}, String(v)), QS.el("td", {class: "muted"}, src)));
      }
      // A decision tells the reviewer what happened; returning or refusing needs a reason the citizen can act on.
      const decide = async (action, done) => {
        const body = action === "approve" ? undefined : {reason: reason.value.trim()};
        if (body && !body.reason) { QS.toast("请填写原因，申请人会在“我的办件”和消息中看到。"); reason.focus(); return; }
        const out = await QS.api(`/api/v1/review/applications/${a.id}/${action}`, {method: "POST", body});
        QS.toast(`${done}：${out.matter_name}（${out.id}），状态：${out.status_label}，已通知申请人。`);
        loadApps();
      };
      apps.append(QS.el("div", {class: "item", "data-app": a.id},
        QS.el("div", {}, QS.el("strong", {}, a.matter_name), " ", QS.el("span", {class: "status-tag"}, a.status_label)),
        QS.el("div", {class: "muted"}, `申请编号 ${a.id} · ${new Date(a.created_at).toLocaleString("zh-CN", {hour12: false})}`),
        table,
        QS.el("div", {class: "row"},
          QS.el("button", {class: "app-approve", onclick: () => decide("approve", "已批准")}, "批准（办结）"),
          reason,
          QS.el("button", {class: "danger app-return", onclick: () => decide("return", "已退回补正")}, "退回补正"),
          QS.el("button", {class: "danger app-reject", onclick: () => decide("reject", "已不予受理")}, "不予受理"))));
    }
  }
  async function loadHandoffs() {
    const page = await QS.api("/api/v1/review/handoffs?limit=50");
    handoffs.innerHTML = "";
    if (!page.items.length) handoffs.append(QS.el("p", {class: "muted", id: "handoffs-empty"}, "暂无转人工的会话。"));
    for (const h of page.items) {
      const talk = h.conversation.slice(-4).map((t) => `问：${t.question}\n答：${t.reply}`).join("\n");
      const who = h.accepted_by ? ` · 接手人：${h.accepted_by}` : "";
      const place = h.queue_position ? ` · 排队第${h.queue_position}位` : "";
      const box = QS.el("div", {class: "item handoff" + (h.emergency ? " emergency" : ""), "data-handoff": h.id,
                                "data-status": h.status},
        QS.el("div", {class: "muted"}, h.emergency ? QS.el("span", {class: "badge bad"}, "紧急") : "",
          ` 工单号 ${h.ticket} · ${HANDOFF_REASON[h.reason] || h.reason}${place} · `,
          QS.el("span", {class: "status-tag"}, HANDOFF_STATUS[h.status] || h.status), who),
        QS.el("pre", {class: "json"}, talk));
      const mine = h.accepted_by === me.account_id || me.role === "admin";
      if (canAct && (h.status === "open" || (h.status === "accepted" && mine))) {
        const note = QS.el("input", {class: "handoff-note", maxlength: "500",
          placeholder: h.status === "open" ? "接手备注（选填）" : "处理结果（必填）"});
        const action = h.status === "open" ? "accept" : "close";
        box.append(QS.el("div", {class: "row"}, note, QS.el("button", {class: "handoff-" + action, onclick: async () => {
          if (action === "close" && !note.value.trim()) { QS.toast("请填写处理结果后再点完成。"); return; }
          await QS.api(`/api/v1/review/handoffs/${h.id}/${action}`, {method: "POST", body: {note: note.value.trim()}});
          QS.toast((action === "accept" ? "已接手工单 " : "已完成工单 ") + h.ticket + "，群众会在消息中收到通知"); await loadHandoffs();
        }}, action === "accept" ? "接手" : "完成")));
      }
      handoffs.append(box);
    }
  }
  async function loadDisputes() {
    const page = await QS.api("/api/v1/tickets?status=disputed&limit=50");
    disputes.innerHTML = "";
    if (!page.items.length) disputes.append(QS.el("p", {class: "muted", id: "disputes-empty"}, "暂无待复核的差评申诉。"));
    for (const t of page.items) {
      const box = QS.el("div", {class: "item dispute", "data-ticket": t.id},
        QS.el("div", {class: "muted"}, `${t.id} · 责任单位 ${t.unit} · ${t.score}星 · ${t.reasons.join("、") || "无标签"}`),
        QS.el("div", {}, `申诉（${t.dispute_kind || ""}）：${t.dispute_reason || ""}`),
        QS.el("div", {class: "muted"}, `申诉人：${t.disputed_by || ""}`));
      if (canAct && t.disputed_by === me.account_id) {
        box.append(QS.el("p", {class: "muted"}, "这是您提出的申诉，需由其他复核员处理。"));
      } else if (canAct) {
        const note = QS.el("input", {class: "dispute-note", maxlength: "500", placeholder: "复核意见"});
        const decide = (confirm) => async () => {
          await QS.api(`/api/v1/tickets/${t.id}/dispute/review`, {method: "POST", body: {confirm, note: note.value.trim()}});
          QS.toast((confirm ? "已确认误评 " : "已驳回申诉 ") + t.id); await loadDisputes();
        };
        box.append(QS.el("div", {class: "row"}, note,
          QS.el("button", {class: "dispute-confirm", onclick: decide(true)}, "确认误评"),
          QS.el("button", {class: "danger dispute-reject", onclick: decide(false)}, "驳回")));
      }
      disputes.append(box);
    }
  }
  await Promise.all([loadHeld(), loadApps(), loadHandoffs(), loadDisputes()]);
})();
