// Owner console: my unit's items, versions, side-by-side diff, submit/approve/publish/retire, drafts.
"use strict";
(async function () {
  const me = await QS.header("/owner");
  const STATE = {draft: "草稿", in_review: "审核中", approved: "已批准", published: "已发布", superseded: "已替代", withdrawn: "已撤回", rejected: "已退回", retired: "已下线"};
  const DEFAULT_REQUIRED = ["申请条件", "申请材料", "办理流程", "办理时限", "收费标准", "设定依据"];
  let offset = 0; const limit = 20; let current = null; let base = null;  // base: the version a new draft starts from
  if (me.role !== "owner" && me.role !== "admin") {
    document.querySelector("#items tbody").append(QS.el("tr", {}, QS.el("td", {colspan: 3}, "请以知识负责人或管理员身份登录。")));
    return;
  }
  document.getElementById("units").textContent = (me.units || []).join("、");
  let loading = 0;  // only the newest list request may fill the table (a filter change races a reload)
  async function loadItems() {
    const mine = ++loading;
    const st = document.getElementById("status-filter").value;
    const q = new URLSearchParams({limit, offset, mine: me.role === "owner"});
    if (st) q.set(st.split(":")[0], st.split(":")[1]);  // status:published, or pending:in_review (a version in review)
    const page = await QS.api("/api/v1/knowledge/items?" + q);
    if (mine !== loading) return;
    const body = document.querySelector("#items tbody"); body.innerHTML = "";
    for (const it of page.items) {
      body.append(QS.el("tr", {"data-item": it.id},
        QS.el("td", {}, QS.el("a", {href: "#", class: "open-item", onclick: (e) => { e.preventDefault(); openItem(it.id); }}, it.title)),
        QS.el("td", {class: "status"}, STATE[it.status] || "状态未知",
          it.pending_state && it.status !== "draft" && it.status !== "in_review" ? QS.el("span", {class: "badge pending"}, `${STATE[it.pending_state]} v${it.pending_version}`) : null),
        QS.el("td", {}, `v${it.current_version || "-"} / ${it.latest_version}`)));
    }
    document.getElementById("pageinfo").textContent = `${page.total ? offset + 1 : 0}–${Math.min(offset + limit, page.total)} / 共 ${page.total} 条`;
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + limit >= page.total;
  }
  async function openItem(id) {
    const [item, versions] = await Promise.all([QS.api(`/api/v1/knowledge/items/${id}`), QS.api(`/api/v1/knowledge/items/${id}/versions?limit=200`)]);
    current = item;
    document.getElementById("d-title").textContent = item.title;
    document.getElementById("d-meta").textContent = `${item.id} · ${item.owner_name || item.owner} · ${STATE[item.status] || "状态未知"}${item.retired_reason ? " · 下线原因：" + item.retired_reason : ""}${item.replaced_by ? " · 由 " + item.replaced_by + " 替代" : ""}`;
    const body = document.querySelector("#versions tbody"); body.innerHTML = "";
    const left = document.getElementById("left"), right = document.getElementById("right");
    left.innerHTML = right.innerHTML = "";
    for (const v of versions.items) {
      const acts = QS.el("td");
      const act = (name, label) => acts.append(QS.el("button", {class: "secondary act-" + name, onclick: () => decide(v.number, name)}, label));
      if (v.state === "draft") act("submit", "提交审核");
      if (v.state === "in_review") act("approve", "审核通过");
      if (v.state === "in_review" || v.state === "approved") act("reject", "退回");
      if (v.state === "approved") act("publish", "发布");
      if (["draft", "in_review", "approved"].includes(v.state)) act("withdraw", "撤回");
      const who = QS.el("td", {class: "muted"}, `${v.author}${v.change_note ? "：" + v.change_note : ""}`);
      if (v.review_note) who.append(QS.el("div", {class: "note"}, (v.state === "rejected" ? "退回原因：" : "撤回说明：") + v.review_note));
      body.append(QS.el("tr", {"data-version": v.number}, QS.el("td", {}, QS.el("a", {href: `/k/${item.id}/${v.number}`, target: "_blank"}, "v" + v.number)),
        QS.el("td", {class: "v-state"}, STATE[v.state] || "状态未知"), who, acts));
      left.append(QS.el("option", {value: v.number}, "v" + v.number));
      right.append(QS.el("option", {value: v.number}, "v" + v.number));
    }
    if (versions.items.length > 1) right.value = versions.items[versions.items.length - 1].number;
    document.getElementById("d-actions").hidden = item.status === "retired";
    document.getElementById("diff").innerHTML = "";
    document.getElementById("submit-confirm").hidden = true;
    document.getElementById("retire-box").hidden = true;
    await startDraftFrom(item);
  }
  // A new draft starts from the live version (or the newest one, for an item never published): editing one
  // section never silently drops the others.
  async function startDraftFrom(item) {
    const number = item.current_version || item.latest_version;
    base = number ? await QS.api(`/api/v1/knowledge/items/${item.id}/versions/${number}`) : null;
    document.getElementById("draft-heading").textContent = item.status === "retired" ? "新建草稿" : "修改（另存为新草稿）";
    document.getElementById("draft-base").textContent = base ? `基于第${base.number}版（${STATE[base.state] || ""}）；保存后需他人审核通过才会发布。` : "";
    document.getElementById("draft-id").value = item.id;
    document.getElementById("draft-title").value = base ? base.content.title : item.title;
    document.getElementById("draft-body").value = base ? base.content.sections.map((s) => `## ${s.heading}\n${s.text}`).join("\n\n") : "";
    document.getElementById("draft-reset").hidden = !base;
    checkDraft();
  }
  function parseSections(text) {
    const sections = [];
    for (const part of text.split(/^##\s*/m)) {
      const [heading, ...rest] = part.split("\n");
      if (heading.trim() && rest.join("\n").trim()) sections.push({heading: heading.trim(), text: rest.join("\n").trim()});
    }
    return sections;
  }
  // Warn while typing: required sections missing (the server refuses to submit such a draft) and sections
  // of the base version that this draft would delete.
  function checkDraft() {
    const headings = parseSections(document.getElementById("draft-body").value).map((s) => s.heading);
    const required = (current && current.required_sections) || DEFAULT_REQUIRED;
    const missing = required.filter((h) => !headings.includes(h));
    const removed = base ? base.content.sections.map((s) => s.heading).filter((h) => !headings.includes(h) && !missing.includes(h)) : [];
    const box = document.getElementById("draft-warning"); box.innerHTML = "";
    if (missing.length) box.append(QS.el("p", {class: "missing"}, `缺少必填章节：${missing.join("、")}。可以先保存为草稿，但补全之前不能提交审核。`));
    if (removed.length) box.append(QS.el("p", {class: "removed"}, `将删除原有章节：${removed.join("、")}。`));
    box.hidden = !missing.length && !removed.length;
    return {missing, removed};
  }
  document.getElementById("draft-body").addEventListener("input", checkDraft);
  document.getElementById("draft-reset").addEventListener("click", () => { if (current) startDraftFrom(current); });
  async function decide(number, action) {
    const note = document.getElementById("note").value.trim();
    if (action === "reject" && !note) { QS.toast("请在“原因/备注”中填写退回原因，作者会看到它"); document.getElementById("note").focus(); return; }
    if (action === "submit") { await confirmSubmit(number); return; }
    if (action === "withdraw" && !confirm(`撤回第${number}版？撤回后该版本不会发布。`)) return;
    const done = await QS.api(`/api/v1/knowledge/items/${current.id}/versions/${number}/${action}`, {method: "POST", body: {note}});
    QS.toast({approve: "已审核通过", publish: "已发布", reject: "已退回", withdraw: "已撤回"}[action] + `：第${done.number}版`);
    await openItem(current.id); await loadItems();
  }
  // Submitting shows what changes against the live version first, then asks for confirmation.
  async function confirmSubmit(number) {
    const against = current.current_version && current.current_version !== number ? current.current_version : null;
    if (against) await showDiff(against, number); else document.getElementById("diff").innerHTML = "";
    const bar = document.getElementById("submit-confirm");
    document.getElementById("submit-confirm-text").textContent = against
      ? `请核对第${against}版 → 第${number}版的修改（见下方对比），确认后提交审核。`
      : `第${number}版是该条目的第一版，确认后提交审核。`;
    bar.hidden = false; bar.scrollIntoView({block: "nearest"});
    document.getElementById("submit-yes").onclick = async () => {
      bar.hidden = true;
      await QS.api(`/api/v1/knowledge/items/${current.id}/versions/${number}/submit`, {method: "POST", body: {note: document.getElementById("note").value.trim()}});
      QS.toast(`已提交审核：第${number}版`); await openItem(current.id); await loadItems();
    };
    document.getElementById("submit-no").onclick = () => { bar.hidden = true; };
  }
  // Taking an item offline is deliberate: a dialog asks for the reason and an optional replacement.
  document.getElementById("retire").addEventListener("click", async () => {
    const box = document.getElementById("retire-box");
    document.getElementById("retire-title").textContent = `下线“${current.title}”？`;
    document.getElementById("retire-reason").value = document.getElementById("note").value.trim();
    const select = document.getElementById("retire-replacement");
    select.innerHTML = ""; select.append(QS.el("option", {value: ""}, "无替代条目"));
    const live = await QS.api("/api/v1/knowledge/items?status=published&limit=200");
    for (const it of live.items) if (it.id !== current.id && it.kind === current.kind) select.append(QS.el("option", {value: it.id}, `${it.title}（${it.owner_name || it.owner}）`));
    box.hidden = false; document.getElementById("retire-reason").focus();
  });
  document.getElementById("retire-no").addEventListener("click", () => { document.getElementById("retire-box").hidden = true; });
  document.getElementById("retire-yes").addEventListener("click", async () => {
    const reason = document.getElementById("retire-reason").value.trim();
    if (!reason) { QS.toast("请填写下线原因"); document.getElementById("retire-reason").focus(); return; }
    const replaced = document.getElementById("retire-replacement").value || null;
    await QS.api(`/api/v1/knowledge/items/${current.id}/retire`, {method: "POST", body: {reason, replaced_by: replaced}});
    document.getElementById("retire-box").hidden = true;
    QS.toast("已下线：" + current.title); await openItem(current.id); await loadItems();
  });
  document.getElementById("diff-btn").addEventListener("click", async () => {
    if (!current) return;
    await showDiff(document.getElementById("left").value, document.getElementById("right").value);
  });
  async function showDiff(l, r) {
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
  }
  document.getElementById("draft-btn").addEventListener("click", async () => {
    const sections = parseSections(document.getElementById("draft-body").value);
    if (!sections.length) { QS.toast("请至少填写一个章节（## 标题 换行 内容）"); return; }
    const {removed} = checkDraft();
    if (removed.length && !confirm(`这份草稿将删除原有章节：${removed.join("、")}。仍要保存吗？`)) return;
    const id = document.getElementById("draft-id").value.trim();
    const item = current && current.id === id ? current : {};
    // Metadata and dates carry over from the version the draft starts from; changing them is a reviewed change too.
    const meta = (base && item.id && base.meta) || {};
    const v = await QS.api("/api/v1/knowledge/drafts", {method: "POST", body: {
      id: id || item.id, kind: item.kind || "guide",
      owner: meta.owner || item.owner || (me.units || [])[0], level: meta.level || item.level || "区",
      audience: meta.audience || item.audience || ["个人"],
      title: document.getElementById("draft-title").value.trim() || item.title, sections,
      effective_from: (item.id && base && base.effective_from) || new Date().toISOString().slice(0, 10),
      expires_at: (item.id && base && base.expires_at) || null, review_due: (item.id && base && base.review_due) || null,
      change_note: document.getElementById("note").value}});
    QS.toast(`已保存草稿：第${v.number}版`); await openItem(v.item_id); await loadItems();
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
