// Auditor view: search traces, open one, verified badge and receipt.
"use strict";
(async function () {
  const me = await QS.header("/audit");
  const body = document.querySelector("#events tbody");
  if (!["auditor", "admin"].includes(me.role)) { body.append(QS.el("tr", {}, QS.el("td", {colspan: 4}, "请以审计员身份登录。"))); return; }
  const params = new URLSearchParams(location.search);
  if (params.get("turn")) document.getElementById("subject").value = params.get("turn");
  async function search() {
    const q = new URLSearchParams({limit: 50});
    const ev = document.getElementById("event").value, subject = document.getElementById("subject").value.trim();
    if (ev) q.set("event", ev);
    if (subject) q.set("subject", subject);
    const page = await QS.api("/api/v1/audit/events?" + q);
    body.innerHTML = "";
    for (const e of page.items) {
      body.append(QS.el("tr", {"data-subject": e.subject}, QS.el("td", {}, e.seq), QS.el("td", {}, e.ts.slice(0, 19).replace("T", " ")), QS.el("td", {}, e.event),
        QS.el("td", {}, QS.el("a", {href: "#", class: "open-trace", onclick: (x) => { x.preventDefault(); openTrace(e.subject); }}, e.subject))));
    }
    if (subject && page.items.length) openTrace(subject);
  }
  async function openTrace(turnId) {
    const box = document.getElementById("trace");
    box.innerHTML = ""; box.append(QS.el("h2", {}, "轨迹详情"), QS.el("p", {class: "muted"}, "校验中…"));
    const t = await QS.api(`/api/v1/audit/traces/${encodeURIComponent(turnId)}`);
    box.innerHTML = "";
    box.append(QS.el("h2", {}, "轨迹 " + t.turn_id),
      QS.el("p", {}, QS.el("span", {class: "badge " + (t.verified ? "ok" : "bad"), id: "verified"}, t.verified ? "✔ 已验证：未被篡改" : "✘ 校验失败")));
    for (const e of t.events) {
      const d = e.data || {};
      box.append(QS.el("div", {class: "item"}, QS.el("b", {}, `#${e.seq} ${e.event}`), QS.el("span", {class: "muted"}, ` ${e.ts} · ${e.actor}`),
        d.question ? QS.el("p", {}, "问题（已脱敏）：" + d.question) : null,
        d.outcome ? QS.el("p", {}, "结果：" + d.outcome) : null,
        QS.el("pre", {class: "json"}, JSON.stringify(d, null, 2))));
    }
    if (t.receipt) box.append(QS.el("h2", {}, "收据（Merkle 包含证明）"), QS.el("pre", {class: "json", id: "receipt"}, JSON.stringify(t.receipt, null, 2)));
  }
  document.getElementById("search").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  document.getElementById("verify-all").addEventListener("click", async () => {
    const r = await QS.api("/api/v1/audit/verify", {method: "POST"});
    document.getElementById("verify-result").textContent = r.ok ? `✔ 共 ${r.tree_size} 条，未发现篡改` : `✘ 发现 ${r.problems.length} 处问题`;
  });
  document.getElementById("export").addEventListener("click", async (e) => {
    e.preventDefault();
    const text = await QS.api("/api/v1/audit/export?fmt=jsonl");
    const url = URL.createObjectURL(new Blob([text], {type: "application/x-ndjson"}));
    const a = QS.el("a", {href: url, download: `audit-${new Date().toISOString().slice(0, 10)}.jsonl`, hidden: ""});
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    QS.toast(`已导出 ${text ? text.trim().split("\n").length : 0} 条审计事件`);
  });
  await search();
})();
