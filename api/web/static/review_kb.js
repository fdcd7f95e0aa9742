// Knowledge approval (知识审批) on /review: versions awaiting a second person, with a readable diff of sections,
// dates and metadata; approve (and publish) or send back with a reason. The server checks every action
// (four-eyes: the author cannot approve; owners act only for their own unit).
"use strict";
(async function () {
  const box = document.getElementById("kb-review");
  const me = await QS.me();
  if (!["owner", "admin", "reviewer", "auditor"].includes(me.role)) { box.textContent = "请以知识负责人或管理员身份登录。"; return; }
  const canAct = ["owner", "admin"].includes(me.role);
  const STATES = [["in_review", "审核中"], ["approved", "已批准待发布"], ["draft", "草稿"]];
  const CHANGE = {added: "新增", removed: "删除", changed: "修改"};
  const FIELD = {owner: "负责单位", level: "层级", audience: "服务对象", tags: "标签", related: "关联事项",
    source_path: "来源文件", effective_from: "生效日期", expires_at: "失效日期", review_due: "复审日期"};
  let state = "in_review";
  const filters = QS.el("div", {class: "row", id: "kb-filters"});
  const list = QS.el("div", {id: "kb-list"});
  box.append(filters, list);
  const fmt = (v) => (v === null || v === undefined || v === "" ? "（无）" : v);
  async function load() {
    const pages = await Promise.all(STATES.map(([s]) => QS.api(`/api/v1/knowledge/items?pending=${s}&limit=200`)));
    filters.innerHTML = "";
    STATES.forEach(([s, label], i) => filters.append(QS.el("button", {
      class: s === state ? "kb-filter" : "secondary kb-filter", "data-state": s,
      onclick: () => { state = s; load(); }}, `${label}（${pages[i].total}）`)));
    const items = pages[STATES.findIndex(([s]) => s === state)].items;
    list.innerHTML = "";
    if (!items.length) list.append(QS.el("p", {class: "muted", id: "kb-empty"}, "暂无此状态的知识版本。"));
    for (const item of items) list.append(await card(item));
  }
  async function card(item) {
    const n = item.pending_version;
    const v = await QS.api(`/api/v1/knowledge/items/${encodeURIComponent(item.id)}/versions/${n}`);
    const el = QS.el("div", {class: "item kb-version", "data-item": item.id, "data-version": String(n)},
      QS.el("div", {}, QS.el("strong", {}, item.title), " ", QS.el("span", {class: "status-tag"}, STATES.find(([s]) => s === item.pending_state)[1])),
      QS.el("div", {class: "muted"}, `${item.id} · 第 ${n} 版 · ${item.owner_name || item.owner} · 录入人 ${v.author}` +
        (v.change_note ? ` · 修改说明：${v.change_note}` : "")));
    const changes = QS.el("div", {class: "kb-diff"});
    if (item.current_version) {
      const d = await QS.api(`/api/v1/knowledge/items/${encodeURIComponent(item.id)}/diff?left=${item.current_version}&right=${n}`);
      const meta = Object.entries(Object.assign({}, d.dates_changed, d.metadata_changed));
      for (const [k, [a, b]] of meta) changes.append(QS.el("div", {class: "kb-meta-change"}, `${FIELD[k] || "其他信息"}：${fmt(a)} → ${fmt(b)}`));
      for (const s of d.sections.filter((x) => x.change !== "same")) {
        changes.append(QS.el("div", {class: "kb-section-change"}, QS.el("strong", {}, `${CHANGE[s.change]}：${s.heading}`)),
          QS.el("pre", {class: "json"}, s.unified || s.right || s.left));
      }
      if (!meta.length && !d.sections.some((x) => x.change !== "same")) changes.append(QS.el("p", {class: "muted"}, "与在用版本相比没有变化。"));
      changes.prepend(QS.el("div", {class: "muted"}, `与在用的第 ${item.current_version} 版对比：`));
    } else {
      changes.append(QS.el("div", {class: "muted"}, "新事项，尚无在用版本。全部内容："));
      for (const s of v.content.sections) changes.append(QS.el("strong", {}, s.heading), QS.el("pre", {class: "json"}, s.text));
    }
    el.append(changes);
    if (canAct && item.pending_state !== "draft") {
      const reason = QS.el("input", {class: "kb-reason", maxlength: "500", placeholder: "退回原因（录入单位可见）"});
      const base = `/api/v1/knowledge/items/${encodeURIComponent(item.id)}/versions/${n}`;
      const row = QS.el("div", {class: "row"});
      if (item.pending_state === "in_review") {
        row.append(QS.el("button", {class: "kb-approve", onclick: async () => {
          await QS.api(`${base}/approve`, {method: "POST", body: {}});
          QS.toast(`已批准：${item.title}（第 ${n} 版），发布后生效。`); load();
        }}, "批准"), reason, QS.el("button", {class: "danger kb-reject", onclick: async () => {
          if (!reason.value.trim()) { QS.toast("请填写退回原因，录入单位会看到。"); reason.focus(); return; }
          await QS.api(`${base}/reject`, {method: "POST", body: {note: reason.value.trim()}});
          QS.toast(`已退回：${item.title}（第 ${n} 版）。`); load();
        }}, "退回"));
      } else {
        row.append(QS.el("button", {class: "kb-publish", onclick: async () => {
          await QS.api(`${base}/publish`, {method: "POST", body: {}});
          QS.toast(`已发布：${item.title}（第 ${n} 版）。`); load();
        }}, "发布"));
      }
      el.append(row);
    }
    return el;
  }
  await load();
})();
