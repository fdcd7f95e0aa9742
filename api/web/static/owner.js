// Owner console: my unit's items, versions, side-by-side diff, submit/approve/publish/retire, drafts.
"use strict";
(async function () {
  const me = await QS.header("/owner");
  const STATE = {draft: "草稿", in_review: "审核中", approved: "已批准", published: "已发布", superseded: "已替代", withdrawn: "已撤回", retired: "已退出"};
  let offset = 0; const limit = 20; let current = null;
  if (me.role !== "owner" && me.role !== "admin") {
    document.querySelector("#items tbody").append(QS.el("tr", {}, QS.el("td", {colspan: 3}, "请以知识负责人或管理员身份登录。")));
    return;
  }
  document.getElementById("units").textContent = (me.units || []).join("、");
  async function loadItems() {
    const st = document.getElementById("status-filter").value;
    const q = new URLSearchParams({limit, offset, mine: me.role === "owner"});
    if (st) q.set("status", st);
    const page = await QS.api("/api/v1/knowledge/items?" + q);
    const body = document.querySelector("#items tbody"); body.innerHTML = "";
    for (const it of page.items) {
      body.append(QS.el("tr", {"data-item": it.id},
        QS.el("td", {}, QS.el("a", {href: "#", class: "open-item", onclick: (e) => { e.preventDefault(); openItem(it.id); }}, it.title)),
        QS.el("td", {class: "status"}, STATE[it.status] || it.status), QS.el("td", {}, `v${it.current_version || "-"} / ${it.latest_version}`)));
    }
    document.getElementById("pageinfo").textContent = `${page.total ? offset + 1 : 0}–${Math.min(offset + limit, page.total)} / 共 ${page.total} 条`;
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + limit >= page.total;
  }
  async function openItem(id) {
    const [item, versions] = await Promise.all([QS.api(`/api/v1/knowledge/items/${id}`), QS.api(`/api/v1/knowledge/items/${id}/versions?limit=200`)]);
    current = item;
    document.getElementById("d-title").textContent = item.title;
    document.getElementById("d-meta").textContent = `${item.id} · ${item.owner} · ${STATE[item.status] || item.status}${item.retired_reason ? " · 退出原因：" + item.retired_reason : ""}`;
    const body = document.querySelector("#versions tbody"); body.innerHTML = "";
    const left = document.getElementById("left"), right = document.getElementById("right");
    left.innerHTML = right.innerHTML = "";
    for (const v of versions.items) {
      const acts = QS.el("td");
      const act = (name, label) => acts.append(QS.el("button", {class: "secondary act-" + name, onclick: () => decide(v.number, name)}, label));
      if (v.state === "draft") act("submit", "提交审核");
      if (v.state === "in_review") act("approve", "审核通过");
      if (v.state === "approved") act("publish", "发布");
      body.append(QS.el("tr", {}, QS.el("td", {}, QS.el("a", {href: `/k/${item.id}/${v.number}`, target: "_blank"}, "v" + v.number)),
        QS.el("td", {}, STATE[v.state] || v.state), QS.el("td", {class: "muted"}, `${v.author}${v.change_note ? "：" + v.change_note : ""}`), acts));
      left.append(QS.el("option", {value: v.number}, "v" + v.number));
      right.append(QS.el("option", {value: v.number}, "v" + v.number));
    }
    if (versions.items.length > 1) right.value = versions.items[versions.items.length - 1].number;
    document.getElementById("d-actions").hidden = item.status === "retired";
    document.getElementById("diff").innerHTML = "";
  }
  async function decide(number, action) {
    await QS.api(`/api/v1/knowledge/items/${current.id}/versions/${number}/${action}`, {method: "POST", body: {note: document.getElementById("note").value}});
    QS.toast("已完成"); await openItem(current.id); await loadItems();
  }
  document.getElementById("retire").addEventListener("click", async () => {
    const reason = document.getElementById("note").value.trim();
    if (!reason) { QS.toast("请填写退出原因"); return; }
    await QS.api(`/api/v1/knowledge/items/${current.id}/retire`, {method: "POST", body: {reason}});
    QS.toast("已退出：" + current.title); await openItem(current.id); await loadItems();
  });
  document.getElementById("diff-btn").addEventListener("click", async () => {
    if (!current) return;
    const l = document.getElementById("left").value, r = document.getElementById("right").value;
    const d = await QS.api(`/api/v1/knowledge/items/${current.id}/diff?left=${l}&right=${r}`);
    const box = document.getElementById("diff"); box.innerHTML = "";
    const grid = QS.el("div", {class: "diff"}, QS.el("strong", {}, "v" + d.left), QS.el("strong", {}, "v" + d.right));
    // Metadata and dates go live with the version too, so they are reviewed here like the sections.
    const META = {owner: "责任单位", level: "层级", audience: "服务对象", tags: "标签", related: "关联条目", source_path: "来源文件",
                  effective_from: "生效日期", expires_at: "失效日期", review_due: "复审日期"};
    for (const [field, pair] of Object.entries(Object.assign({}, d.metadata_changed || {}, d.dates_changed || {}))) {
      const label = (META[field] || field) + "（有修改）";
      grid.append(QS.el("div", {class: "changed meta-change", "data-field": field}, QS.el("b", {}, label), QS.el("pre", {}, pair[0] || "（无）")),
                  QS.el("div", {class: "changed meta-change", "data-field": field}, QS.el("b", {}, label), QS.el("pre", {}, pair[1] || "（无）")));
    }
    for (const s of d.sections) {
      const tag = {changed: "（有修改）", added: "（新增）", removed: "（删除）", same: ""}[s.change];
      grid.append(QS.el("div", {class: s.change}, QS.el("b", {}, s.heading + tag), QS.el("pre", {}, s.left)),
                  QS.el("div", {class: s.change}, QS.el("b", {}, s.heading + tag), QS.el("pre", {}, s.right)));
    }
    box.append(grid);
  });
  document.getElementById("draft-btn").addEventListener("click", async () => {
    const text = document.getElementById("draft-body").value;
    const sections = [];
    for (const part of text.split(/^##\s*/m)) {
      const [heading, ...rest] = part.split("\n");
      if (heading.trim() && rest.join("\n").trim()) sections.push({heading: heading.trim(), text: rest.join("\n").trim()});
    }
    const base = current || {};
    const v = await QS.api("/api/v1/knowledge/drafts", {method: "POST", body: {
      id: document.getElementById("draft-id").value.trim() || base.id, kind: base.kind || "guide",
      owner: base.owner || (me.units || [])[0], level: base.level || "区", audience: base.audience || ["个人"],
      title: document.getElementById("draft-title").value.trim() || base.title, sections,
      effective_from: new Date().toISOString().slice(0, 10), change_note: document.getElementById("note").value}});
    QS.toast(`已保存草稿 v${v.number}`); await openItem(v.item_id); await loadItems();
  });
  // 整改工单: the unit's rectification tickets; resolve with a new knowledge version, or dispute (误评/恶意差评).
  const TSTATE = {open: "待整改", resolved: "已整改", disputed: "申诉待复核", dispute_confirmed: "申诉成立", dispute_rejected: "申诉驳回"};
  const PENDING = ["open", "dispute_rejected"];
  async function loadTickets() {
    const page = await QS.api("/api/v1/tickets?limit=200");
    const pendingOnly = document.getElementById("ticket-filter").value === "pending";
    const shown = page.items.filter((t) => !pendingOnly || PENDING.includes(t.status) || t.overdue && t.status !== "resolved" && t.status !== "dispute_confirmed");
    const box = document.getElementById("tickets"); box.innerHTML = "";
    document.getElementById("tickets-empty").hidden = shown.length > 0;
    for (const t of shown) {
      const cited = t.cited || [];
      const first = cited.length ? cited[0].split("@") : ["", ""];
      const item = QS.el("input", {class: "t-item", placeholder: "知识条目编号", value: first[0], maxlength: "100"});
      const version = QS.el("input", {class: "t-version", type: "number", min: "1", placeholder: "新版本号"});
      const note = QS.el("input", {class: "t-note", placeholder: "整改说明 / 申诉理由", maxlength: "500"});
      const kind = QS.el("select", {class: "t-kind"}, QS.el("option", {value: "误评"}, "误评"), QS.el("option", {value: "恶意差评"}, "恶意差评"));
      const row = QS.el("div", {class: "item ticket" + (t.overdue ? " overdue" : ""), "data-ticket": t.id, "data-status": t.status},
        QS.el("div", {}, QS.el("b", {}, `${t.score}星 · ${(t.reasons || []).join("、") || "未选原因"}`), " ",
          QS.el("span", {class: "badge t-status"}, TSTATE[t.status] || t.status), t.overdue ? QS.el("span", {class: "badge bad"}, "已超期") : null),
        QS.el("div", {class: "muted"}, `${t.id} · ${t.unit} · 期限 ${t.due_on}${cited.length ? " · 涉及 " + cited.join("、") : ""}${t.resolution_note ? " · " + t.resolution_note : ""}`));
      if (PENDING.includes(t.status)) {
        row.append(QS.el("div", {class: "row"}, item, version, note),
          QS.el("div", {class: "row"},
            QS.el("button", {type: "button", class: "t-resolve", onclick: async () => {
              if (!item.value.trim() || !version.value) { QS.toast("请填写整改所关联的知识条目和新版本号"); return; }
              await QS.api(`/api/v1/tickets/${t.id}/resolve`, {method: "POST", body: {item_id: item.value.trim(), version: Number(version.value), note: note.value.trim()}});
              QS.toast("已整改：" + t.id); await loadTickets();
            }}, "整改完成"),
            kind,
            QS.el("button", {type: "button", class: "secondary t-dispute", onclick: async () => {
              if (!note.value.trim()) { QS.toast("请填写申诉理由"); return; }
              await QS.api(`/api/v1/tickets/${t.id}/dispute`, {method: "POST", body: {kind: kind.value, reason: note.value.trim()}});
              QS.toast("已提交申诉，待复核：" + t.id); await loadTickets();
            }}, "申诉")));
      }
      box.append(row);
    }
  }
  document.getElementById("ticket-filter").addEventListener("change", loadTickets);
  document.getElementById("status-filter").addEventListener("change", () => { offset = 0; loadItems(); });
  document.getElementById("prev").addEventListener("click", () => { offset = Math.max(0, offset - limit); loadItems(); });
  document.getElementById("next").addEventListener("click", () => { offset += limit; loadItems(); });
  await loadItems();
  await loadTickets();
})();
