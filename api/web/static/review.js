// Reviewer queue: held answers (approve/edit/reject) and applications (approve/return).
"use strict";
(async function () {
  const me = await QS.header("/review");
  const held = document.getElementById("held"), apps = document.getElementById("apps");
  if (!["reviewer", "admin", "auditor"].includes(me.role)) { held.textContent = "请以复核员身份登录。"; return; }
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
      const reason = QS.el("input", {placeholder: "退回原因"});
      const fields = Object.entries(a.fields).map(([k, v]) => `${k}：${v}`).join("\n");
      apps.append(QS.el("div", {class: "item", "data-app": a.id},
        QS.el("div", {class: "muted"}, `${a.id} · ${a.matter_id}`), QS.el("pre", {class: "json"}, fields),
        QS.el("div", {class: "row"},
          QS.el("button", {onclick: async () => { await QS.api(`/api/v1/review/applications/${a.id}/approve`, {method: "POST"}); loadApps(); }}, "批准"),
          reason, QS.el("button", {class: "danger", onclick: async () => { await QS.api(`/api/v1/review/applications/${a.id}/return`, {method: "POST", body: {reason: reason.value || "材料不全"}}); loadApps(); }}, "退回"))));
    }
  }
  await Promise.all([loadHeld(), loadApps()]);
})();
