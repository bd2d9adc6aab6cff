// Site-wide alerts for signed-in people (#site-alerts in base.html); written by the alerts work.
//
// One WebSocket per signed-in page (ws/me/, supportgroup/consumers.py UserConsumer) carries
// what follows a person across the site: a moderator's crisis alert ("someone in your group
// is worried about a member") and the open report count of each group they moderate. The
// server sends no member text here: a group's name and a link.
const root = document.getElementById("site-alerts");
if (root && "WebSocket" in window) start(root);

function start(root) {
  let attempt = 0;
  let stopped = false;
  let ws = null;
  let pingTimer = null;
  let retryTimer = null;

  function connect() {
    if (stopped) return;
    clearTimeout(retryTimer);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + (root.dataset.wsPath || "/ws/me/"));
    ws.onopen = () => {
      attempt = 0;
      pingTimer = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" })); }, 25000);
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.type === "moderation.crisis_alert") crisisAlert(msg);
      else if (msg.type === "moderation.open_reports") openReports(msg);
    };
    ws.onclose = (e) => {
      clearInterval(pingTimer);
      if (e.code === 4401 || e.code === 4403) { stopped = true; return; } // signed out: stop
      attempt += 1;
      const base = Math.min(30000, 1000 * 2 ** Math.min(attempt - 1, 5));
      retryTimer = setTimeout(connect, base / 2 + Math.random() * (base / 2)); // backoff with jitter
    };
  }

  function crisisAlert(msg) {
    const box = document.createElement("div");
    box.className = "message message-alert site-alert";
    box.setAttribute("role", "alert");
    const text = document.createElement("p");
    text.textContent = msg.escalated
      ? `In ${msg.group}, a member said they were worried about someone, and no moderator has looked yet.`
      : `In ${msg.group}, a member is worried about someone.`;
    const link = document.createElement("a");
    link.href = msg.url; link.textContent = "Open the review queue";
    const close = document.createElement("button");
    close.type = "button"; close.className = "link-button"; close.textContent = "Dismiss";
    close.addEventListener("click", () => { box.remove(); root.hidden = !root.children.length; });
    text.append(" ", link);
    box.append(text, close);
    root.append(box);
    root.hidden = false;
  }

  function openReports(msg) {
    document.querySelectorAll(`[data-open-reports][data-group-id="${Number(msg.group_id)}"]`).forEach((el) => {
      el.textContent = msg.count; el.hidden = !msg.count;
    });
  }

  window.addEventListener("online", () => { if (!stopped && ws && ws.readyState === WebSocket.CLOSED) { attempt = 0; connect(); } });
  connect();
}
