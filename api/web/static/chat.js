// Citizen chat: conversation, choices as buttons, live form with sources, checklist, citations.
// A reload (or another device, for a logged-in citizen) restores the whole page from the server's session: the
// server issues the session id and the visitor cookie; the page keeps the id in localStorage ("" = start afresh).
"use strict";
(async function () {
  const me = await QS.header("/");
  const loggedIn = me.account_id !== "anonymous";
  const log = document.getElementById("log");
  const choices = document.getElementById("choices");
  const input = document.getElementById("text");
  const SOURCE = {turn: ["对话", "turn"], profile: ["档案", "profile"], elicence: ["电子证照", "elicence"], carried: ["沿用", "carried"]};
  const STATUS = {required: "需提交", waived: "免交（电子证照）", licence_expired: "证照已过期，请提交有效证件"};
  const stored = localStorage.getItem("qs_session");
  let sessionId = stored || null;
  let lastTurnId = null;  // the latest turn this page shows: sent as seen_turn_id so a stale page cannot confirm
  let lastChoices = [];
  const REASONS = ["答非所问", "信息过时", "流程繁琐", "材料复杂", "态度", "其他"];
  const RATED_STATUS = ["submitted", "awaiting_staff_review"];
  const APP_STATUS = {submitted: "已受理，办理部门处理中", awaiting_staff_review: "审核中", approved: "办结",
                      returned: "退回补正", rejected: "不予受理"};

  // 好差评: a compact control under an answer (target "answer") or a finished matter (target "matter").
  function ratingBox(target, targetId, label) {
    const box = QS.el("div", {class: "rating", "data-target": target, "data-target-id": targetId});
    let score = 0;
    const stars = QS.el("span", {class: "stars", role: "radiogroup", "aria-label": label});
    const tags = QS.el("div", {class: "tags", hidden: ""});
    const comment = QS.el("input", {class: "comment", maxlength: "500", placeholder: "补充说明（选填，请勿填写身份证号等个人信息）", hidden: ""});
    const submit = QS.el("button", {type: "button", class: "rate-submit", hidden: ""}, "提交评价");
    for (let n = 1; n <= 5; n++) {
      stars.append(QS.el("button", {type: "button", class: "star", "data-score": n, "aria-label": n + "星", onclick: () => {
        score = n;
        for (const b of stars.children) b.classList.toggle("on", Number(b.dataset.score) <= n);
        tags.hidden = comment.hidden = submit.hidden = false;
      }}, "★"));
    }
    for (const r of REASONS) {
      tags.append(QS.el("button", {type: "button", class: "tag", "data-reason": r, onclick: (e) => e.currentTarget.classList.toggle("on")}, r));
    }
    submit.addEventListener("click", async () => {
      if (!score) return;
      const reasons = [...tags.querySelectorAll(".tag.on")].map((b) => b.dataset.reason);
      submit.disabled = true;
      try {
        const out = await QS.api("/api/v1/ratings", {method: "POST", body: {target, target_id: targetId, score, reasons,
          comment: comment.value.trim() || null, session_id: sessionId}});
        box.innerHTML = "";
        if (out.tickets && out.tickets.length) {
          const units = (out.unit_names && out.unit_names.length ? out.unit_names : out.units).join("、");
          box.append(QS.el("span", {class: "rated bad", "data-tickets": out.tickets.join(" ")}, `感谢评价，已转交责任单位整改：${units}`));
        } else {
          box.append(QS.el("span", {class: "rated"}, "感谢您的评价！"));
        }
      } catch (e) {
        submit.disabled = false;
      }
    });
    box.append(QS.el("span", {class: "muted"}, label), stars, tags, comment, submit);
    return box;
  }

  function citeLinks(cites) {
    if (!cites || !cites.length) return null;
    const box = QS.el("div", {class: "cites"}, "依据：");
    for (const c of cites) box.append(QS.el("a", {href: `/k/${encodeURIComponent(c.item_id)}/${c.version}`, target: "_blank", class: "cite"}, `《${c.title || c.item_id}》v${c.version}`));
    return box;
  }
  function add(role, text, cites) {
    const m = QS.el("div", {class: "msg " + role}, text);
    const links = citeLinks(cites);
    if (links) m.append(links);
    log.append(m); log.scrollTop = log.scrollHeight;
    return m;
  }
  // 人工复核: a held answer is polled (every 3 s, for up to 5 minutes) until a reviewer releases or rejects it.
  const POLL_MS = 3000, POLL_FOR_MS = 5 * 60 * 1000;
  const waiting = new Map();  // turn id -> {since, node}
  let pollTimer = null;
  function awaitRelease(turnId, node) {
    waiting.set(turnId, {since: Date.now(), node});
    if (!pollTimer) pollTimer = setTimeout(pollReleases, POLL_MS);
  }
  function showRelease(turnId, review, node) {
    node.dataset.review = review.status;
    if (review.status === "rejected") {
      const m = add("bot", review.text);
      m.classList.add("released", "rejected");
      m.dataset.outcome = "review_rejected"; m.dataset.releasedFor = turnId;
      return;
    }
    const m = add("bot", review.text, review.citations);
    m.classList.add("released");
    m.prepend(QS.el("div", {class: "muted released-label"}, "工作人员已复核，答复如下："));
    m.dataset.outcome = "review_released"; m.dataset.releasedFor = turnId;
  }
  async function pollReleases() {
    pollTimer = null;
    if (!sessionId || !waiting.size) return;
    try {
      const page = await QS.api(`/api/v1/sessions/${encodeURIComponent(sessionId)}/turns`, {quiet: true});
      for (const t of page.turns) {
        const w = waiting.get(t.id);
        if (!w || !t.review || t.review.status === "pending") continue;
        waiting.delete(t.id);
        showRelease(t.id, t.review, w.node);
      }
    } catch (e) {
      // a failed poll is retried until the deadline
    }
    for (const [id, w] of waiting) {
      if (Date.now() - w.since < POLL_FOR_MS) continue;
      waiting.delete(id);
      w.node.append(QS.el("div", {class: "muted review-slow"}, "复核仍在进行中，请稍后刷新页面查看，或拨打 12345 政务服务便民热线咨询。"));
    }
    if (waiting.size) pollTimer = setTimeout(pollReleases, POLL_MS);
  }

  function render(turn, review) {
    const m = add("bot", turn.reply, turn.citations);
    m.dataset.outcome = turn.outcome; m.dataset.turn = turn.turn_id;
    lastTurnId = turn.turn_id;
    if (turn.outcome === "answered" && turn.turn_id && !review) m.append(ratingBox("answer", turn.turn_id, "这个回答有帮助吗？"));
    if (turn.outcome === "held_for_review" && turn.turn_id) {
      if (review && review.status !== "pending") showRelease(turn.turn_id, review, m);
      else awaitRelease(turn.turn_id, m);
    }
    document.getElementById("matter").textContent = turn.matter ? `· ${turn.matter.bundle_name ? turn.matter.bundle_name + " 第" + turn.matter.step + "/" + turn.matter.steps + "项：" : ""}${turn.matter.name}` : "";
    choices.innerHTML = "";
    lastChoices = turn.choices || [];
    for (const c of lastChoices) choices.append(QS.el("button", {class: "secondary choice", type: "button", onclick: () => send(c.value)}, c.label));
    const body = document.querySelector("#form tbody");
    if (turn.slots && turn.slots.length) {
      body.innerHTML = "";
      for (const s of turn.slots) {
        const [label, cls] = SOURCE[s.source.kind] || [s.source.kind, ""];
        body.append(QS.el("tr", {"data-field": s.name}, QS.el("td", {}, s.label), QS.el("td", {}, String(s.value)),
          QS.el("td", {}, QS.el("span", {class: "badge " + cls, title: s.source_text}, label))));
      }
      document.getElementById("form-empty").style.display = "none";
    }
    const confirm = document.getElementById("confirm");
    confirm.disabled = turn.outcome !== "awaiting_confirmation";
    if (turn.checklist && turn.checklist.length) {
      const ul = document.getElementById("checklist"); ul.innerHTML = "";
      for (const c of turn.checklist) ul.append(QS.el("li", {}, `${c.name}：${STATUS[c.status] || c.status}${c.note ? "（" + c.note + "）" : ""}`));
    }
    if (turn.citations && turn.citations.length) {
      const ul = document.getElementById("citations"); ul.innerHTML = "";
      for (const c of turn.citations) ul.append(QS.el("li", {}, QS.el("a", {href: `/k/${encodeURIComponent(c.item_id)}/${c.version}`, target: "_blank"}, `《${c.title || c.item_id}》第${c.version}版`)));
    }
    const box = document.getElementById("confirmed");
    if (turn.login_required && loggedIn) {  // restored after logging in: the form is theirs now
      box.innerHTML = "";
      box.append(QS.el("div", {class: "confirmed", id: "logged-in-now"}, `您已登录（${me.name || me.account_id}），申请表已保留。核对无误后点“确认提交”即可提交。`));
    } else if (turn.login_required) {
      box.innerHTML = "";
      box.append(QS.el("div", {class: "login-needed", id: "login-needed"}, "提交申请需要实名登录：请在页面上方粘贴登录令牌并点“登录”。登录后本页的申请表会保留，再点“确认提交”即可。"));
      const token = document.getElementById("token");
      if (token) token.focus();
    } else if (!turn.application) {
      for (const id of ["login-needed", "logged-in-now"]) { const n = document.getElementById(id); if (n) n.remove(); }
    }
    if (turn.application) {
      const name = turn.matter ? turn.matter.name : "";
      box.innerHTML = "";
      box.append(QS.el("div", {class: "confirmed", id: "application"},
        `已提交申请 ${turn.application.id || ""}${name ? "（" + name + "）" : ""}，状态：${APP_STATUS[turn.application.status] || "处理中"}`,
        QS.el("div", {}, QS.el("a", {href: "/me", id: "to-me"}, "到“我的办件”查看办理进度"))));
      if (turn.application.id && RATED_STATUS.includes(turn.application.status)) {
        document.getElementById("application").append(ratingBox("matter", turn.application.id, "请为本次办理评价："));
      }
    }
  }
  async function send(text) {
    text = (text || "").trim();
    if (!text) return;
    add("user", text);
    input.value = ""; choices.innerHTML = "";
    document.getElementById("send").disabled = true;
    try {
      const turn = await QS.api("/api/v1/chat", {method: "POST", body: {text, session_id: sessionId, seen_turn_id: lastTurnId}});
      sessionId = turn.session_id; localStorage.setItem("qs_session", sessionId);
      render(turn);
    } catch (e) {
      add("bot", "抱歉，出错了：" + e.message);
      if (e.code === "stale_session") await restore();  // another tab moved on: show the session as it is now
    } finally {
      document.getElementById("send").disabled = false;
    }
  }
  // Rebuild the page from the server: every turn (question, reply, form, checklist, citations, released answers).
  async function restore() {
    if (stored === "") return;  // 新对话 was pressed: start afresh
    const q = sessionId ? "?session_id=" + encodeURIComponent(sessionId) : "";
    let found;
    try { found = await QS.api("/api/v1/sessions/current" + q, {quiet: true}); } catch (e) { return; }
    if (!found.session_id) return;
    log.innerHTML = ""; greet();
    sessionId = found.session_id; localStorage.setItem("qs_session", sessionId);
    for (const t of found.turns) {
      add("user", t.question);
      render(t.result, t.review);
    }
    log.dataset.restored = String(found.turns.length);
  }
  function greet() { add("bot", "您好，我是轻松办助手。请告诉我您想办的事，我会一步步帮您办理。"); }
  document.getElementById("composer").addEventListener("submit", (ev) => { ev.preventDefault(); send(input.value); });
  document.getElementById("confirm").addEventListener("click", () => {
    const c = lastChoices.find((x) => x.value.includes("确认"));
    send(c ? c.value : "确认提交");
  });
  document.getElementById("new-session").addEventListener("click", () => { localStorage.setItem("qs_session", ""); location.reload(); });
  greet();
  document.getElementById("send").disabled = true;
  await restore();
  document.getElementById("send").disabled = false;
  document.body.dataset.ready = "1";  // restored (or nothing to restore): the page may be used
})();
