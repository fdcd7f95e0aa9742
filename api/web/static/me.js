// 我的办件: the logged-in citizen's applications (timeline, staff notes, fields with sources, 预审) and 消息.
"use strict";
(async function () {
  const me = await QS.header("/me");
  const fmt = (t) => t ? new Date(t).toLocaleString("zh-CN", {hour12: false}) : "";
  if (me.account_id === "anonymous") { document.getElementById("need-login").hidden = false; return; }

  async function openApp(id) {
    const d = await QS.api(`/api/v1/me/applications/${encodeURIComponent(id)}`);
    const box = document.getElementById("detail");
    box.innerHTML = ""; box.hidden = false; box.dataset.app = d.id;
    box.append(QS.el("h3", {}, `${d.matter_name}`), QS.el("p", {class: "muted"}, `申请编号 ${d.id} · ${fmt(d.created_at)} 提交`));
    const ol = QS.el("ol", {class: "timeline", id: "timeline"});
    for (const s of d.timeline) {
      const li = QS.el("li", {class: "step " + s.state, "data-code": s.code},
        QS.el("strong", {}, s.label), s.at ? QS.el("span", {class: "muted"}, " " + fmt(s.at)) : null,
        s.state === "current" ? QS.el("span", {class: "status-tag"}, "当前") : null);
      if (s.note) li.append(QS.el("div", {class: "note"}, "工作人员留言：" + s.note));
      ol.append(li);
    }
    box.append(QS.el("h4", {}, "办理进度"), ol);
    if (d.notes.length) {
      const ul = QS.el("ul", {id: "notes"});
      for (const n of d.notes) ul.append(QS.el("li", {}, `${fmt(n.at)}（${n.label}）：${n.note}`));
      box.append(QS.el("h4", {}, "工作人员留言"), ul);
    }
    const table = QS.el("table", {id: "fields"}, QS.el("thead", {}, QS.el("tr", {}, QS.el("th", {}, "字段"), QS.el("th", {}, "内容"), QS.el("th", {}, "来源"))));
    const body = QS.el("tbody");
    for (const f of d.fields) body.append(QS.el("tr", {"data-field": f.name}, QS.el("td", {}, f.label), QS.el("td", {}, String(f.value)), QS.el("td", {class: "muted"}, f.source)));
    table.append(body);
    box.append(QS.el("h4", {}, "申请表"), table);
    if (d.findings.length) {
      const ul = QS.el("ul", {id: "findings"});
      for (const f of d.findings) ul.append(QS.el("li", {class: f.ok ? "ok" : "bad"}, `${f.ok ? "✓" : "✗"} ${f.field_label}：${f.message}${f.explanation ? "（" + f.explanation + "）" : ""}`));
      box.append(QS.el("h4", {}, "智能预审"), ul);
    }
    if (d.status === "returned") box.append(QS.el("p", {}, QS.el("a", {href: "/"}, "到边聊边办补正后重新提交")));
    box.scrollIntoView({behavior: "smooth", block: "start"});
  }

  const page = await QS.api("/api/v1/me/applications?limit=200");
  const list = document.getElementById("apps");
  document.getElementById("no-apps").hidden = page.items.length > 0;
  for (const a of page.items) {
    list.append(QS.el("li", {class: "app", "data-app": a.id},
      QS.el("a", {href: "#" + a.id, class: "open-app", onclick: (e) => { e.preventDefault(); openApp(a.id); }}, a.matter_name),
      " ", QS.el("span", {class: "status-tag status", "data-status": a.status}, a.status_label),
      QS.el("div", {class: "muted"}, `申请编号 ${a.id} · ${fmt(a.created_at)}` + (a.note ? ` · 留言：${a.note}` : ""))));
  }
  const wanted = location.hash.slice(1);
  if (wanted && page.items.some((a) => a.id === wanted)) openApp(wanted);

  const inbox = await QS.api("/api/v1/me/messages");
  document.getElementById("unread").textContent = inbox.unread ? `（${inbox.unread}条未读）` : "";
  document.getElementById("no-messages").hidden = inbox.items.length > 0;
  const ul = document.getElementById("messages");
  for (const m of inbox.items) {
    ul.append(QS.el("li", {class: "message" + (m.read_at ? "" : " unread"), "data-kind": m.kind},
      QS.el("strong", {}, m.title), QS.el("div", {}, m.body), QS.el("div", {class: "muted"}, fmt(m.created_at))));
  }
  if (inbox.unread) QS.api("/api/v1/me/messages/read", {method: "POST", quiet: true});
  document.body.dataset.ready = "1";
})();
