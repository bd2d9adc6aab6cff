// Live group feed: one WebSocket per group page. Without it, every form still
// works through a normal page load; with it, posts and encouragement go over the
// socket and new reflections appear in place.
//
// Every feed event carries the group's sequence number. Numbers are applied in
// order, each once: one that arrives early waits for the ones before it; a gap
// that does not fill within GAP_WAIT (a push lost with a process, or a number
// the heartbeat says exists) is filled by asking the server to resume.
const root = document.getElementById("live");

// The composer's button says what it does for the choice made; the page says "Post" without
// JavaScript, whoever the reflection is for.
const VISIBILITY_LABELS = { group: "Share", moderators: "Share with the moderators", private: "Save to my journal" };
document.querySelectorAll("form[data-live-form=reflection]").forEach((form) => {
  const button = form.querySelector("[data-visibility-label]");
  if (!button) return;
  const update = () => {
    const choice = form.querySelector("input[name=visibility]:checked")?.value || "group";
    button.textContent = VISIBILITY_LABELS[choice] || "Post";
  };
  form.addEventListener("change", (event) => { if (event.target.name === "visibility") update(); });
  form.addEventListener("reset", () => setTimeout(update, 0)); // after the radios are back to their default
  update();
});

// Focus on something the page did not start on (a post just made, a message): without a
// tabindex an article cannot hold focus, and a screen reader would start again at the top.
function focusOn(el) {
  if (!el) return;
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus();
}

// After a plain form post (no socket yet, or none at all) the page opens at the new post,
// #reflection-12 or #reply-3, with the confirmation among the messages: focus goes to the
// post, and the confirmation is said once more where a screen reader hears it.
function arrivedAtPost() {
  const id = decodeURIComponent(location.hash.slice(1));
  if (!/^(reflection|reply)-\d+$/.test(id)) return;
  focusOn(document.getElementById(id));
  const done = document.querySelector(".messages .message-success");
  const announcer = document.getElementById("live-announcer");
  if (done && announcer) setTimeout(() => { announcer.textContent = done.textContent.trim(); }, 100);
}
arrivedAtPost();

if (root && "WebSocket" in window) start(root);

function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function start(root) {
  root.hidden = false;
  const path = root.dataset.wsPath;
  const themeId = Number(root.dataset.theme || 0);
  let lastSeq = Number(root.dataset.lastSeq || 0); // every number up to here is applied
  const early = new Map(); // seq -> message that arrived before the numbers below it
  let target = 0; // the newest number the server has told us exists
  let gapTimer = null;
  let resuming = false;
  let resumeGuard = null;
  let needsReload = false;
  let ws = null;
  let open = false;
  let stopped = false;
  let attempt = 0;
  let pingTimer = null;
  let pongTimer = null;
  let retryTimer = null;
  const pending = new Map(); // client_id -> {form, kind, message}
  // Posts made from this tab ("reflection-12", "reply-3"), known from their ack: their own
  // copy is not "a new reflection" to their author, and focus goes to it when it is in place.
  const ownPosts = new Set();
  let focusWhenInPlace = null; // {id, timer}: the post acknowledged before its copy arrived
  // An arrival while this tab waits for its own ack may be the author's own post: what to say
  // about it waits for the ack (or a moment).
  const heldNews = new Map(); // element id -> timer
  const status = root.querySelector("[data-live-status]");
  const presence = root.querySelector("[data-live-presence]");
  const typing = root.querySelector("[data-live-typing]");
  const announcer = document.getElementById("live-announcer");
  const csrf = () => document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
  let typingTimer = null;

  const setStatus = (state, text) => { root.dataset.state = state; status.textContent = text; };
  const announce = (text) => { announcer.textContent = ""; setTimeout(() => { announcer.textContent = text; }, 50); };
  const send = (message) => { if (open) ws.send(JSON.stringify(message)); return open; };

  function connect() {
    if (stopped) return;
    clearTimeout(retryTimer);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + path);
    setStatus("connecting", attempt ? "Reconnecting…" : "Connecting…");
    ws.onopen = () => {
      attempt = 0; open = true; setStatus("live", "Live");
      resuming = false; resume();
      for (const p of pending.values()) send(p.message); // retries keep their client id: stored once
      pingTimer = setInterval(() => {
        // A socket left half-open (the phone slept, the network changed) answers nothing:
        // without a pong in 10 s, drop it and reconnect.
        if (send({ type: "ping" })) { clearTimeout(pongTimer); pongTimer = setTimeout(() => ws.close(), 10000); }
      }, 25000);
    };
    ws.onmessage = (e) => receive(JSON.parse(e.data));
    ws.onclose = (e) => {
      open = false; clearInterval(pingTimer); clearTimeout(pongTimer); resuming = false;
      if (e.code === 4403 || e.code === 4401) { stopped = true; setStatus("closed", "Live updates stopped"); return; }
      // 4012: the server is restarting; 4013: try again soon. Both reconnect like a drop.
      setStatus("offline", "Offline · reconnecting");
      attempt += 1;
      const base = Math.min(30000, 1000 * 2 ** Math.min(attempt - 1, 5));
      retryTimer = setTimeout(connect, base / 2 + Math.random() * (base / 2)); // backoff with jitter
    };
  }
  window.addEventListener("online", () => {
    if (open || stopped || (ws && ws.readyState === WebSocket.CONNECTING)) return;
    attempt = 0; connect();
  });

  function fragment(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    t.content.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach((i) => { i.value = csrf(); });
    t.content.querySelectorAll("input[name=next]").forEach((i) => { if (!i.value) i.value = location.pathname; });
    return t.content.firstElementChild;
  }

  // A post by someone this member muted, or on a topic they keep collapsed: folded
  // away as the page folds it (the socket marks it; the tags that decided stay on the server).
  function quiet(el, msg) {
    if (el && msg.own) el.querySelectorAll(".member-menu").forEach((menu) => menu.remove()); // nobody mutes themselves
    if (!el || !(msg.muted || msg.collapsed) || el.querySelector(":scope > details.quiet")) return el;
    const details = document.createElement("details");
    details.className = "quiet";
    const summary = document.createElement("summary");
    if (msg.muted) summary.textContent = "You muted this member ";
    else {
      // One line on a phone, as the page renders it (journeys_tags.reflection_card).
      const line = document.createElement("span");
      line.className = "summary-line";
      line.textContent = `Content note: ${msg.content_note || ""} · a topic you keep collapsed`;
      summary.append(line, " ");
    }
    const hint = document.createElement("span");
    hint.className = "muted"; hint.textContent = "(tap to show)";
    summary.append(hint);
    details.append(summary);
    while (el.firstChild) details.append(el.firstChild);
    el.append(details);
    el.dataset.quiet = msg.muted ? "muted" : "topic";
    return el;
  }

  const waitingFor = (kind) => [...pending.values()].some((p) => p.kind === kind);

  // Say that someone else posted, unless it turns out to be this member's own post.
  function news(id, kind, text) {
    if (ownPosts.has(id)) return;
    if (!waitingFor(kind)) { announce(text); return; }
    heldNews.set(id, setTimeout(() => { heldNews.delete(id); if (!ownPosts.has(id)) announce(text); }, 2000));
  }

  // The member's own post is in place: focus goes to it (after an ack that came first).
  function ownInPlace(id) {
    if (!focusWhenInPlace || focusWhenInPlace.id !== id) return;
    clearTimeout(focusWhenInPlace.timer);
    focusWhenInPlace = null;
    focusOn(document.getElementById(id));
  }

  // New reflections by others do not push what the reader is looking at down the screen:
  // when the top of the list is in view, they wait behind a button that shows them; above the
  // view, they go in with the scroll position kept; below it, they just go in.
  const held = []; // [{el, id}] newest last
  let showButton = null;
  function heldButton(feed) {
    if (showButton) return showButton;
    showButton = document.createElement("button");
    showButton.type = "button";
    showButton.className = "button new-items";
    showButton.hidden = true;
    showButton.addEventListener("click", () => {
      const first = flushHeld();
      if (first) focusOn(first);
    });
    feed.before(showButton);
    return showButton;
  }
  function placeInFeed(feed, el, id) {
    const items = [...feed.querySelectorAll(":scope > [data-reflection]")];
    // Newest first, by id, as a reload would show them (writers may commit out of id order).
    const after = items.find((x) => Number(x.dataset.reflection) < id);
    feed.querySelector(".feed-empty")?.remove();
    // Whatever follows the new post moves down by its height: if that is above the view,
    // scroll by as much, so what is on the screen stays where it is.
    const below = after || feed.nextElementSibling;
    const before = below ? below.getBoundingClientRect().top : null;
    feed.insertBefore(el, after || null);
    if (below && before < 0) {
      const moved = below.getBoundingClientRect().top - before; // 0 where the browser anchored it
      if (moved) window.scrollBy(0, moved);
    }
  }
  function flushHeld() {
    const feed = document.getElementById("feed-items");
    const newest = held.reduce((a, b) => (a && a.id > b.id ? a : b), null);
    while (held.length) {
      const { el, id } = held.shift();
      if (feed && !document.getElementById(`reflection-${id}`)) placeInFeed(feed, el, id);
    }
    if (showButton) showButton.hidden = true;
    return newest ? document.getElementById(`reflection-${newest.id}`) : null;
  }
  const heldLabel = () => (held.length === 1 ? "Show 1 new reflection" : `Show ${held.length} new reflections`);
  function inView(feed) {
    const top = feed.getBoundingClientRect().top;
    return top >= 0 && top < window.innerHeight;
  }
  function holdOrPlace(feed, el, id, own) {
    if (own || !inView(feed)) { placeInFeed(feed, el, id); return; }
    const i = held.findIndex((h) => h.id === id);
    if (i >= 0) held[i] = { el, id }; else held.push({ el, id });
    const button = heldButton(feed);
    button.textContent = heldLabel();
    button.hidden = false;
  }
  // Once the top of the list has scrolled out of view, what waited can go in without moving anything.
  window.addEventListener("scroll", () => {
    const feed = document.getElementById("feed-items");
    if (held.length && feed && !inView(feed)) flushHeld();
  }, { passive: true });

  function upsertReflection(msg, isNew) {
    const elId = `reflection-${msg.id}`;
    const existing = document.getElementById(elId);
    const el = quiet(fragment(msg.html), msg);
    if (existing) { existing.replaceWith(el); return; }
    const waiting = held.findIndex((h) => h.id === msg.id);
    if (waiting >= 0) { held[waiting] = { el, id: msg.id }; return; } // an edit of one not shown yet
    const feed = document.getElementById("feed-items");
    if (!feed || Number(feed.dataset.feedTheme) !== msg.theme_id) {
      if (isNew) news(elId, "reflection", "A new reflection was shared on another week.");
      return;
    }
    const items = [...feed.querySelectorAll(":scope > [data-reflection]")];
    const ids = items.map((x) => Number(x.dataset.reflection));
    // An edit can bring a post into view (made visible to the group): show it if it
    // belongs on this page, as a reload would.
    const firstPage = !new URLSearchParams(location.search).has("before");
    const onThisPage = !ids.length || (msg.id >= Math.min(...ids) && (firstPage || msg.id <= Math.max(...ids)));
    if (!isNew && !onThisPage) return;
    const own = ownPosts.has(elId) || focusWhenInPlace?.id === elId;
    if (!isNew) { placeInFeed(feed, el, msg.id); return; }
    holdOrPlace(feed, el, msg.id, own);
    if (own) ownInPlace(elId);
    else news(elId, "reflection", held.length && !document.getElementById(elId)
      ? "A new reflection was shared. The button at the top of the screen shows it."
      : "A new reflection was shared.");
  }

  function setCounts(reflectionId, counts, mineKind, on) {
    const el = document.getElementById(`reflection-${reflectionId}`);
    if (!el) return;
    for (const [kind, n] of Object.entries(counts)) {
      el.querySelectorAll(`[data-kind="${kind}"] .count`).forEach((c) => {
        c.textContent = n;
        // The author's own counts (not buttons): a zero stays quiet, as the page renders it.
        c.closest(".encourage-count")?.toggleAttribute("data-zero", !Number(n));
      });
    }
    if (mineKind) el.querySelector(`button[data-kind="${mineKind}"]`)?.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function setReplyCount(reflectionId, n) {
    document.querySelectorAll(`#reflection-${reflectionId} .reflection-links a:first-child`).forEach((a) => {
      a.textContent = n ? `${n} repl${n === 1 ? "y" : "ies"}` : "Reply";
    });
  }

  function formDone(form, text) {
    let box = form.querySelector("[data-live-done]");
    if (!box) {
      box = document.createElement("p");
      box.className = "message message-success"; box.dataset.liveDone = "";
      form.prepend(box);
    }
    box.textContent = text; box.hidden = false;
    return box;
  }

  function formMessage(form, text) {
    let box = form.querySelector("[data-live-error]");
    if (!box) {
      box = document.createElement("p");
      box.className = "message message-error"; box.setAttribute("role", "alert"); box.dataset.liveError = "";
      form.prepend(box);
    }
    box.textContent = text; box.hidden = !text;
  }

  // --- Sequence numbers -------------------------------------------------------------
  const GAP_WAIT = 1500;
  const behind = () => early.size > 0 || target > lastSeq;

  function receive(msg) {
    switch (msg.type) {
      case "journeys.hello": return;
      case "journeys.pong": clearTimeout(pongTimer); expect(msg.seq); return;
      case "journeys.resumed": resumed(msg.seq); return;
      default: break;
    }
    if (typeof msg.seq !== "number") { apply(msg); return; }
    if (needsReload || msg.seq <= lastSeq) return; // already applied
    // A catch-up message is the current state: it replaces a live copy of the same number.
    if (early.has(msg.seq) && !msg.catch_up) return;
    early.set(msg.seq, msg);
    drain();
  }

  function drain() {
    while (early.has(lastSeq + 1)) {
      const msg = early.get(lastSeq + 1);
      early.delete(lastSeq + 1);
      lastSeq += 1;
      apply(msg);
    }
    if (behind()) armGap();
  }

  function expect(seq) {
    if (typeof seq !== "number" || seq <= lastSeq) return;
    target = Math.max(target, seq);
    armGap();
  }

  function armGap() {
    if (gapTimer) return;
    gapTimer = setTimeout(() => { gapTimer = null; if (behind()) resume(); }, GAP_WAIT);
  }

  function resume() {
    if (!open || resuming || needsReload) return;
    resuming = true;
    clearTimeout(resumeGuard);
    resumeGuard = setTimeout(() => { resuming = false; if (behind()) armGap(); }, 10000);
    send({ type: "resume", last_seq: lastSeq });
  }

  function resumed(upto) {
    // Everything up to `upto` is accounted for: what came is applied in order,
    // and the numbers that did not come were nothing this member may see.
    resuming = false; clearTimeout(resumeGuard);
    for (const seq of [...early.keys()].sort((a, b) => a - b)) {
      if (seq > upto) break;
      const msg = early.get(seq);
      early.delete(seq);
      if (seq > lastSeq) { lastSeq = seq; apply(msg); }
    }
    lastSeq = Math.max(lastSeq, upto);
    drain();
  }

  function apply(msg) {
    handle(msg);
    if (typeof msg.seq === "number") {
      // Other modules (and the browser tests) can follow what was applied, in order.
      document.dispatchEvent(new CustomEvent("live:applied", { detail: { seq: msg.seq, type: msg.type, id: msg.id ?? msg.reflection_id ?? null } }));
    }
  }

  function handle(msg) {
    switch (msg.type) {
      case "journeys.skip": break; // something this member may not see: only its number

      case "journeys.reflection_created":
        typing.textContent = ""; // whoever was writing has probably just posted
        upsertReflection(msg, true);
        break;
      case "journeys.reflection_edited": upsertReflection(msg, false); break;
      case "journeys.reflection_deleted":
      case "journeys.reflection_hidden": {
        document.getElementById(`reflection-${msg.id}`)?.remove();
        const i = held.findIndex((h) => h.id === msg.id);
        if (i >= 0) { held.splice(i, 1); if (showButton) { showButton.textContent = heldLabel(); showButton.hidden = !held.length; } }
        break;
      }
      case "journeys.encouragement_added":
      case "journeys.encouragement_removed": setCounts(msg.reflection_id, msg.counts); break;
      case "journeys.reply_removed":
        document.getElementById(`reply-${msg.id}`)?.remove();
        if (typeof msg.reply_count === "number") setReplyCount(msg.reflection_id, msg.reply_count);
        break;
      case "journeys.reply_created": {
        const list = document.querySelector(`[data-replies-for="${msg.reflection_id}"]`);
        if (list && !document.getElementById(`reply-${msg.id}`)) {
          list.querySelector(".replies-empty")?.remove();
          list.append(quiet(fragment(msg.html), msg));
          const elId = `reply-${msg.id}`;
          if (ownPosts.has(elId) || focusWhenInPlace?.id === elId) ownInPlace(elId);
          else news(elId, "reply", "A new reply.");
        }
        setReplyCount(msg.reflection_id, msg.reply_count);
        break;
      }
      case "journeys.theme_published": {
        const banner = root.querySelector("[data-live-banner]");
        banner.innerHTML = "";
        const link = document.createElement("a");
        link.href = msg.url; link.textContent = `A new theme is here: ${msg.title}`;
        banner.append(link); banner.hidden = false;
        announce(`A new theme is here: ${msg.title}`);
        break;
      }
      case "journeys.open_reports": // moderators only: the nav badge of open reports
        document.querySelectorAll("[data-open-reports]").forEach((el) => { el.textContent = msg.count; el.hidden = !msg.count; });
        break;
      case "journeys.presence":
        presence.textContent = msg.count > 1
          ? `${msg.count} here now${msg.names.length
            ? `: ${msg.names.join(", ")}${msg.more ? ` and ${msg.more} ${msg.more === 1 ? "other" : "others"}` : ""}`
            : ""}` : "";
        break;
      case "journeys.typing":
        if (msg.theme_id && themeId && msg.theme_id !== themeId) break;
        typing.textContent = msg.on ? "Someone is writing…" : "";
        clearTimeout(typingTimer);
        if (msg.on) typingTimer = setTimeout(() => { typing.textContent = ""; }, 6000);
        break;
      case "journeys.ack": {
        const p = pending.get(msg.client_id);
        if (!p) break;
        pending.delete(msg.client_id);
        p.form.querySelector("[type=submit]")?.removeAttribute("disabled");
        if (p.kind === "encouragement") { setCounts(msg.reflection_id, msg.counts, msg.kind, msg.on); break; }
        formMessage(p.form, "");
        const privately = p.message.visibility === "private";
        p.form.reset();
        delete p.form.dataset.clientId;
        const elId = `${p.kind}-${msg.id}`;
        ownPosts.add(elId);
        clearTimeout(heldNews.get(elId)); heldNews.delete(elId);
        const said = p.kind === "reply" ? "Your reply is posted."
          : privately ? "Your reflection is saved in your journal." : "Your reflection is shared.";
        announce(said);
        // Focus goes to the new post, as soon as it is in place; if it never comes to this
        // page (another week's feed), to the confirmation in the form.
        const heldOwn = held.findIndex((h) => `reflection-${h.id}` === elId);
        if (heldOwn >= 0) { // it arrived first and waited with the others' posts: it goes in now
          const [{ el, id }] = held.splice(heldOwn, 1);
          placeInFeed(document.getElementById("feed-items"), el, id);
          if (showButton) { showButton.textContent = heldLabel(); showButton.hidden = !held.length; }
        }
        const inPlace = document.getElementById(elId);
        if (inPlace) { focusOn(inPlace); break; }
        if (focusWhenInPlace) clearTimeout(focusWhenInPlace.timer);
        focusWhenInPlace = {
          id: elId,
          timer: setTimeout(() => { focusWhenInPlace = null; focusOn(formDone(p.form, said)); }, 3000),
        };
        break;
      }
      case "journeys.error": {
        const p = pending.get(msg.client_id);
        if (p) {
          pending.delete(msg.client_id);
          p.form.querySelector("[type=submit]")?.removeAttribute("disabled");
          // The text stays. A fixed version gets a new id; a retry after an outage keeps it (stored once).
          if (msg.code !== "unavailable") delete p.form.dataset.clientId;
          const fields = msg.errors ? Object.values(msg.errors).flat().join(" ") : "";
          formMessage(p.form, fields || msg.message);
        } else if (msg.code === "rate_limited") {
          announce(msg.message);
        }
        break;
      }
      case "journeys.closed": {
        stopped = true;
        const banner = root.querySelector("[data-live-banner]");
        banner.textContent = msg.reason === "logged_out"
          ? "You were signed out (in another tab, on another device, or by a password change). "
          : "You are no longer a member of this group, so live updates have stopped. ";
        // Words someone was writing stay on the page to copy: only the sending stops.
        let kept = false;
        document.querySelectorAll("form[data-live-form]").forEach((f) => {
          const typed = [...f.querySelectorAll("textarea, input[type=text]")].some((el) => el.value.trim());
          if (!typed) { f.hidden = true; return; }
          kept = true;
          f.querySelectorAll("textarea, input[type=text]").forEach((el) => { el.readOnly = true; });
          f.querySelectorAll("button, input[type=submit]").forEach((el) => { el.disabled = true; });
        });
        if (kept) banner.append("What you were writing is still here: copy it before you leave this page. ");
        if (msg.reason === "logged_out") {
          const link = document.createElement("a");
          link.href = "/accounts/login/?next=" + encodeURIComponent(location.pathname);
          link.textContent = "Sign in again";
          banner.append(link);
        }
        banner.hidden = false;
        break;
      }
      case "journeys.reload": {
        needsReload = true; early.clear();
        const banner = root.querySelector("[data-live-banner]");
        banner.innerHTML = "";
        const link = document.createElement("a");
        link.href = location.pathname; link.textContent = "A lot happened while you were away. Reload to see everything.";
        banner.append(link); banner.hidden = false;
        break;
      }
      default: break;
    }
  }

  function submitOverSocket(form, kind, build) {
    form.addEventListener("submit", (event) => {
      if (!open) return; // fall back to a normal form post
      event.preventDefault();
      const done = form.querySelector("[data-live-done]");
      if (done) done.hidden = true;
      form.dataset.clientId = form.dataset.clientId || uuid();
      const message = { ...build(new FormData(form)), client_id: form.dataset.clientId };
      pending.set(message.client_id, { form, kind, message });
      form.querySelector("[type=submit]")?.setAttribute("disabled", "");
      send(message);
    });
  }

  document.querySelectorAll("form[data-live-form=reflection]").forEach((form) => {
    submitOverSocket(form, "reflection", (d) => ({
      type: "reflection.create", theme_id: themeId, body: d.get("body") || "",
      prompt: d.get("prompt") || "", visibility: d.get("visibility") || "group",
      content_note: d.get("content_note") || "", is_anonymous: d.has("is_anonymous"), witness_only: d.has("witness_only"),
    }));
  });
  document.querySelectorAll("form[data-live-form=reply]").forEach((form) => {
    const reflectionId = Number(form.dataset.reflection);
    submitOverSocket(form, "reply", (d) => ({ type: "reply.create", reflection_id: reflectionId, body: d.get("body") || "" }));
  });
  // Encouragement buttons, including those inserted later.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches(".encourage form") || !open) return;
    event.preventDefault();
    const article = form.closest("[data-reflection]");
    const message = {
      type: "encouragement.toggle", client_id: uuid(),
      reflection_id: Number(article.dataset.reflection), kind: new FormData(form).get("kind"),
    };
    pending.set(message.client_id, { form, kind: "encouragement", message });
    send(message);
  });

  let typingSent = 0;
  let idleTimer = null;
  // Writing anonymously (the box is ticked, or the author replies under their own anonymous
  // post): no typing signal at all, or "someone is writing" beside the names of who is here
  // could point at the author.
  const anonymous = (form) => form.dataset.anonymous === "1" || !!form.querySelector("input[name=is_anonymous]")?.checked;
  const stopTyping = () => { clearTimeout(idleTimer); if (typingSent) { typingSent = 0; send({ type: "typing", on: false }); } };
  document.querySelectorAll("form[data-live-form] input[name=is_anonymous]").forEach((box) => {
    box.addEventListener("change", () => { if (box.checked) stopTyping(); });
  });
  document.querySelectorAll("form[data-live-form] textarea").forEach((area) => {
    area.addEventListener("input", () => {
      if (anonymous(area.form)) { stopTyping(); return; }
      const now = Date.now();
      if (now - typingSent > 3000) { typingSent = now; send({ type: "typing", on: true, ...(themeId ? { theme_id: themeId } : {}) }); }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(stopTyping, 5000);
    });
  });

  connect();
}
