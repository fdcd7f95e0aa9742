// Owner inbox (谁录入谁负责) on /owner: the unit's open drafts, versions sent back with the reviewer's reason,
// and live items whose review-by or expiry date is within 30 days.
"use strict";
(async function () {
  const box = document.getElementById("inbox");
  const me = await QS.me();
  if (me.role !== "owner" && me.role !== "admin") { box.hidden = true; return; }
  const STATE = {draft: "草稿", in_review: "审核中", approved: "已批准待发布"};
  let data;
  try { data = await QS.api("/api/v1/knowledge/inbox", {quiet: true}); } catch (e) { box.hidden = true; return; }
  const body = box.querySelector(".inbox-body");
  const group = (title, id, rows, empty) => {
    const ul = QS.el("ul", {id});
    for (const r of rows) ul.append(r);
    body.append(QS.el("h3", {}, `${title}（${rows.length}）`), rows.length ? ul : QS.el("p", {class: "muted"}, empty));
  };
  group("退回修改", "inbox-rejected", data.rejected.map((v) => QS.el("li", {"data-item": v.item_id},
    `${v.item_id} 第 ${v.number} 版：`, QS.el("strong", {}, v.review_note || "未写原因"))), "没有被退回的版本。");
  group("进行中的草稿", "inbox-drafts", data.drafts.map((v) => QS.el("li", {"data-item": v.item_id},
    `${v.item_id} 第 ${v.number} 版 · ${STATE[v.state] || "进行中"}` + (v.change_note ? ` · ${v.change_note}` : ""))), "没有进行中的草稿。");
  group("30 天内需复审或将失效", "inbox-due", data.due.map((d) => QS.el("li", {"data-item": d.item_id},
    `${d.title}（第 ${d.version} 版）· ${d.reason_label} · ${d.date}` +
    (d.days_left < 0 ? ` · 已过 ${-d.days_left} 天` : ` · 还有 ${d.days_left} 天`))), "30 天内没有需要复审或将失效的知识。");
})();
