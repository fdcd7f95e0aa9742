// Citizen chat: conversation, choices as buttons, live form with sources, checklist, citations.
"use strict";
(async function () {
  await QS.header("/");
  const log = document.getElementById("log");
  const choices = document.getElementById("choices");
  const input = document.getElementById("text");
  const SOURCE = {turn: ["对话", "turn"], profile: ["档案", "profile"], elicence: ["电子证照", "elicence"], carried: ["沿用", "carried"]};
  const STATUS = {required: "需提交", waived: "免交（电子证照）", licence_expired: "证照已过期，请提交有效证件"};
  let sessionId = sessionStorage.getItem("qs_session") || null;
  let lastChoices = [];

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
  function render(turn) {
    const m = add("bot", turn.reply, turn.citations);
    m.dataset.outcome = turn.outcome; m.dataset.turn = turn.turn_id;
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
    if (turn.application) {
      document.getElementById("confirmed").innerHTML = "";
      document.getElementById("confirmed").append(QS.el("div", {class: "confirmed", id: "application"},
        `已提交申请 ${turn.application.id || ""}（${turn.application.matter_id}），状态：${turn.application.status}`));
    }
  }
  async function send(text) {
    text = (text || "").trim();
    if (!text) return;
    add("user", text);
    input.value = ""; choices.innerHTML = "";
    document.getElementById("send").disabled = true;
    try {
      const turn = await QS.api("/api/v1/chat", {method: "POST", body: {text, session_id: sessionId}});
      sessionId = turn.session_id; sessionStorage.setItem("qs_session", sessionId);
      render(turn);
    } catch (e) {
      add("bot", "抱歉，出错了：" + e.message);
    } finally {
      document.getElementById("send").disabled = false;
    }
  }
  document.getElementById("composer").addEventListener("submit", (ev) => { ev.preventDefault(); send(input.value); });
  document.getElementById("confirm").addEventListener("click", () => {
    const c = lastChoices.find((x) => x.value.includes("确认"));
    send(c ? c.value : "确认提交");
  });
  document.getElementById("new-session").addEventListener("click", () => { sessionStorage.removeItem("qs_session"); location.reload(); });
  add("bot", "您好，我是轻松办助手。请告诉我您想办的事，我会一步步帮您办理。");
  if (sessionId) {
    // Continue after reload: show nothing more; the next message continues the session.
  }
})();
