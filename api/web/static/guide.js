// A knowledge version as a readable guide (/k/{item}/{version}), cited from chat answers.
"use strict";
(async function () {
  await QS.header("");
  const STATE = {draft: "草稿", in_review: "审核中", approved: "已批准", published: "现行有效", superseded: "已被新版替代",
                 withdrawn: "已撤回", rejected: "已退回", retired: "已下线"};
  const [, , id, ver] = location.pathname.split("/");
  const box = document.getElementById("guide");
  try {
    const [v, item] = await Promise.all([QS.api(`/api/v1/knowledge/items/${encodeURIComponent(id)}/versions/${encodeURIComponent(ver)}`, {quiet: true}),
                                         QS.api(`/api/v1/knowledge/items/${encodeURIComponent(id)}`, {quiet: true})]);
    box.innerHTML = "";
    box.append(QS.el("h2", {id: "title"}, v.content.title),
      QS.el("p", {class: "muted"}, `第${v.number}版（${STATE[v.state] || "状态未知"}）· 负责单位 ${item.owner_name || item.owner} · 生效 ${v.effective_from}${v.expires_at ? " 至 " + v.expires_at : ""}`));
    if (item.status === "retired") box.append(QS.el("p", {class: "badge bad"}, "已下线：" + (item.retired_reason || "")));
    for (const s of v.content.sections) box.append(QS.el("h3", {}, s.heading), QS.el("p", {class: "pre-wrap"}, s.text));
  } catch (e) { box.textContent = e.status === 404 ? "找不到这份办事指南，可能已更新或尚未发布。" : "暂时无法打开，请稍后再试。"; }
})();
