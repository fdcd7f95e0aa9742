// QingSong 轻松办 — owner console: ingest upload with a progress bar (self-contained; uses QS from app.js).
"use strict";
(() => {
  const form = document.getElementById("ingest-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const STAGES = {queued: "排队中", read: "读取与校验文件", apply: "写入草稿", done: "完成"};
  const ACTIONS = {create: "新建草稿", new_version: "新版本草稿", unchanged: "内容未变"};
  const MAX = 10 * 1024 * 1024;

  function show(job) {
    const pct = job.status === "finished" ? 100 : (job.total ? Math.round(100 * job.done / job.total) : 0);
    $("ingest-progress").value = pct;
    $("ingest-stage").textContent = `${STAGES[job.stage] || job.stage}：${job.done}/${job.total}（${pct}%）`;
  }

  function report(job) {
    const box = $("ingest-report");
    box.replaceChildren();
    if (job.status === "failed") {
      box.append(QS.el("p", {class: "error-text"}, "导入失败：" + (job.error || "未知错误")));
      return;
    }
    const r = job.report;
    box.append(QS.el("p", {}, `新建 ${r.created} 条，新版本 ${r.new_versions} 条，未变 ${r.unchanged} 条，未导入 ${r.skipped} 个。均为草稿，请提交审核后发布。`));
    if (r.outcomes.length) {
      const ul = QS.el("ul", {id: "ingest-outcomes"});
      for (const o of r.outcomes) ul.append(QS.el("li", {}, `${o.source}：${o.item_id} ${ACTIONS[o.action] || o.action}${o.version ? " v" + o.version : ""}`));
      box.append(ul);
    }
    if (r.messages.length) {
      const ul = QS.el("ul", {id: "ingest-messages"});
      for (const m of r.messages) ul.append(QS.el("li", {class: "error-text"}, m.message));
      box.append(QS.el("p", {}, "未导入的文件："), ul);
    }
  }

  async function poll(id) {
    for (;;) {
      const job = await QS.api("/api/v1/knowledge/ingest/" + encodeURIComponent(id));
      show(job);
      if (job.status === "finished" || job.status === "failed") return job;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const files = Array.from($("ingest-files").files || []);
    if (!files.length) { QS.toast("请先选择要导入的文件"); return; }
    if (files.reduce((n, f) => n + f.size, 0) > MAX) { QS.toast("文件合计超过 10 MB，请分批上传"); return; }
    const data = new FormData();
    for (const f of files) data.append("files", f, f.name);
    $("ingest-btn").disabled = true;
    $("ingest-status").hidden = false;
    $("ingest-report").replaceChildren();
    show({stage: "queued", done: 0, total: files.length, status: "queued"});
    try {
      const headers = QS.token() ? {Authorization: "Bearer " + QS.token()} : {};
      const res = await fetch("/api/v1/knowledge/ingest", {method: "POST", body: data, headers});
      const body = await res.json();
      if (!res.ok) throw new Error(body && body.error ? body.error.message : "HTTP " + res.status);
      const job = await poll(body.id);
      report(job);
      if (job.status === "finished" && window.dispatchEvent) window.dispatchEvent(new CustomEvent("qs:ingested", {detail: job}));
    } catch (e) {
      QS.toast("导入出错：" + e.message);
      $("ingest-stage").textContent = "导入出错：" + e.message;
    } finally {
      $("ingest-btn").disabled = false;
    }
  });
})();
