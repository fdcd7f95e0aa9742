// QingSong 轻松办 — shared helpers: token login (localStorage), API calls, header.
"use strict";
const QS = {
  token() { return localStorage.getItem("qs_token") || ""; },
  setToken(t) { if (t) localStorage.setItem("qs_token", t); else localStorage.removeItem("qs_token"); },
  // opts.quiet: no toast on failure (background polling handles its own errors).
  async api(path, opts = {}) {
    const {quiet, ...rest} = opts;
    const headers = Object.assign({"Content-Type": "application/json"}, rest.headers || {});
    if (QS.token()) headers["Authorization"] = "Bearer " + QS.token();
    const res = await fetch(path, Object.assign({}, rest, {headers, body: rest.body ? JSON.stringify(rest.body) : undefined}));
    const type = res.headers.get("content-type") || "";
    // Only a JSON document is parsed; JSON Lines (application/x-ndjson, the audit export) stays text.
    const data = /^application\/(.+\+)?json\b/.test(type) ? await res.json() : await res.text();
    if (!res.ok) {
      const msg = data && data.error ? data.error.message : ("HTTP " + res.status);
      if (!quiet) QS.toast("出错了：" + msg);
      const err = new Error(msg);
      err.code = data && data.error ? data.error.code : String(res.status);
      err.status = res.status;
      throw err;
    }
    return data;
  },
  el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "onclick") e.addEventListener("click", v);
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  },
  toast(text) {
    const t = document.getElementById("toast");
    if (!t) return;
    t.textContent = text; t.style.display = "block";
    clearTimeout(QS._t); QS._t = setTimeout(() => { t.style.display = "none"; }, 4000);
  },
  async me() {
    try { return await QS.api("/api/v1/me"); } catch (e) { QS.setToken(""); return {account_id: "anonymous", role: "citizen"}; }
  },
  roleName: {citizen: "市民", owner: "知识负责人", reviewer: "复核员", auditor: "审计员", admin: "管理员"},
  async header(active) {
    const h = document.querySelector("header");
    const links = [["/", "市民办事"], ["/me", "我的办件"], ["/owner", "知识管理"], ["/review", "人工复核"], ["/audit", "审计"]];
    const nav = QS.el("nav");
    for (const [href, label] of links) nav.append(QS.el("a", {href, class: href === active ? "active" : ""}, label));
    h.append(QS.el("h1", {}, "轻松办"), nav);
    const box = QS.el("div", {id: "login"});
    const me = await QS.me();
    if (me.account_id === "anonymous") {
      const input = QS.el("input", {id: "token", type: "password", placeholder: "粘贴登录令牌 qs_…", "aria-label": "登录令牌"});
      box.append(input, QS.el("button", {id: "login-btn", class: "secondary", onclick: () => { QS.setToken(input.value.trim()); location.reload(); }}, "登录"));
    } else {
      box.append(QS.el("span", {id: "who"}, `${QS.roleName[me.role] || me.role}：${me.name || me.account_id}`),
                 QS.el("button", {id: "logout-btn", class: "secondary", onclick: () => { QS.setToken(""); location.reload(); }}, "退出"));
    }
    h.append(box);
    document.body.append(QS.el("div", {id: "toast"}));
    return me;
  },
};
window.QS = QS;
