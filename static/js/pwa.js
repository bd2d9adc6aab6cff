// The installable app (supportgroup/pwa.py): registers the service worker, which stores
// only static files and the offline page. Pages work the same without it.
//
// Signing out answers with Clear-Site-Data, which empties caches and storage in browsers
// that support it. For the others, a tab that saw a signed-in page and now shows a
// signed-out one clears what this origin keeps itself.
const SIGNED_IN = document.querySelector('meta[name="sg-session"]')?.content === "signed-in";
const FLAG = "sg-was-signed-in";
const OUR_CACHE = "sg-static-"; // the worker's own: static files and the offline page only

async function clearAfterSigningOut() {
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch {
    // storage blocked by the browser: nothing was kept there either
  }
  if (!("caches" in window)) return;
  for (const key of await caches.keys()) {
    if (!key.startsWith(OUR_CACHE)) await caches.delete(key);
  }
}

async function start() {
  try {
    if (SIGNED_IN) {
      sessionStorage.setItem(FLAG, "1");
    } else if (sessionStorage.getItem(FLAG)) {
      await clearAfterSigningOut();
    }
  } catch {
    // storage blocked: see above
  }
  if ("serviceWorker" in navigator) {
    try {
      await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    } catch {
      // no worker (private mode, an old browser): the site works as before, online only
    }
  }
}

start();
