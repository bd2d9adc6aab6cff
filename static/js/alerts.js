// Site-wide alerts for signed-in people (#site-alerts in base.html); written by the alerts work.
//
// One WebSocket per signed-in page (ws/me/, supportgroup/consumers.py UserConsumer) carries
// what follows a person across the site: a moderator's crisis alert ("someone in your group
// is worried about a member"), the open report count of each group they moderate, and the
// unread count of the notifications bell (notifications.unread, #14). The
// server sends no member text here: a group's name and a link.
const root = document.getElementById("site-alerts");
if (root && "WebSocket" in window) start(root);

function start(root) {
  let attempt = 0;
  let stopped = false;
  let ws = null;
  let pingTimer = null;
  let retryTimer = null;
  let opened = false; // a socket of this page has been open before

  function connect() {
    if (stopped) return;
    clearTimeout(retryTimer);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + (root.dataset.wsPath || "/ws/me/"));
    ws.onopen = () => {
      // Back after a drop: a bell count pushed meanwhile was lost; ask for it once.
      if (opened) refreshUnread();
      opened = true;
      attempt = 0;
      pingTimer = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "ping" })); }, 25000);
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.type === "moderation.crisis_alert") crisisAlert(msg);
      else if (msg.type === "moderation.open_reports") openReports(msg);
      else if (msg.type === "notifications.unread") unread(msg);
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

  // The bell (base.html): the count on every tab, from the person's own channel. A count
  // that rose with `alert` (not held back by quiet hours) is also said in the polite status
  // line: a screen reader reads it when it is free; nothing takes focus.
  function unread(msg) {
    const count = Math.max(0, Number(msg.count) || 0);
    const bell = document.querySelector("[data-bell]");
    if (!bell) return;
    const badge = bell.querySelector("[data-bell-count]");
    const before = Number(bell.dataset.count ?? (badge && !badge.hidden ? parseInt(badge.textContent, 10) : 0)) || 0;
    bell.dataset.count = String(count);
    bell.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
    if (badge) { badge.textContent = count > 99 ? "99+" : String(count); badge.hidden = !count; }
    const status = document.querySelector("[data-bell-status]");
    if (status && msg.alert && count > before) {
      status.textContent = "";
      setTimeout(() => { status.textContent = count === 1 ? "You have a new notification." : `You have ${count} unread notifications.`; }, 50);
    } else if (status && count < before) {
      status.textContent = ""; // read elsewhere: a screen reader must not find the old news
    }
    // On the notifications page itself the list is as it was loaded: offer the new ones.
    const fresh = document.querySelector("[data-notifications-fresh]");
    if (fresh && msg.alert && count > before) fresh.hidden = false;
  }

  function refreshUnread() {
    const bell = document.querySelector("[data-bell]");
    if (!bell || !bell.dataset.unreadUrl) return;
    fetch(bell.dataset.unreadUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok && r.headers.get("content-type")?.includes("json") ? r.json() : null))
      .then((data) => { if (data) unread({ count: data.count, alert: false }); })
      .catch(() => {});
  }

  window.addEventListener("online", () => { if (!stopped && ws && ws.readyState === WebSocket.CLOSED) { attempt = 0; connect(); } });
  connect();
}
