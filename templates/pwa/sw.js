{% autoescape off %}// The service worker (served at /sw.js by supportgroup/pwa.py, registered by static/js/pwa.js).
//
// Privacy on a shared phone: it stores ONLY the site's static files and the offline page,
// all of them fetched without cookies when it installs. Pages, fragments, JSON and anything
// else the server answers go to the network and are never put in a cache; when the network
// is down, a page visit gets the offline page (with the crisis lines) instead.
const VERSION = {{ version }};
const CACHE = `sg-static-${VERSION}`;
const STATIC_URL = {{ static_url }};
const OFFLINE_URL = {{ offline_url }};
const PRECACHE = {{ precache }}.concat([OFFLINE_URL]);
// Only this worker's own cache; Vary (Cookie, Accept-Encoding) is moot for what it holds.
const STORED = { cacheName: CACHE, ignoreVary: true };

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // credentials "omit": what is stored was answered to nobody in particular.
      await cache.addAll(
        PRECACHE.map((url) => new Request(url, { cache: "reload", credentials: "omit" })),
      );
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key !== CACHE) await caches.delete(key);
      }
      if (self.registration.navigationPreload) {
        await self.registration.navigationPreload.enable();
      }
      await self.clients.claim();
    })(),
  );
});

async function visit(event) {
  try {
    // The page itself always comes from the network (started early by navigation preload).
    const preloaded = await event.preloadResponse;
    return preloaded || (await fetch(event.request));
  } catch (error) {
    const offline = await caches.match(OFFLINE_URL, STORED);
    return offline || Response.error();
  }
}

async function staticFile(request) {
  const stored = await caches.match(request, STORED);
  // A file outside the stored set is fetched, and not kept.
  return stored || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(visit(event));
  } else if (url.pathname.startsWith(STATIC_URL)) {
    event.respondWith(staticFile(request));
  }
  // Anything else is not answered here: the browser fetches it as if there were no worker.
});
{% endautoescape %}
