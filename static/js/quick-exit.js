// "Leave quickly": the button, or Escape pressed three times within 2 s, swaps this page
// for a neutral one (settings.QUICK_EXIT_URL) and takes its place in the history, so Back
// does not bring it back. Without JavaScript the button is a plain link to the same page.
const PRESSES = 3;
const WITHIN_MS = 2000;

const link = document.querySelector("[data-quick-exit]");

function leave() {
  // Nothing of this page stays on screen while the next one loads.
  document.documentElement.style.visibility = "hidden";
  document.title = "";
  window.location.replace(link.href);
}

if (link) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    leave();
  });

  let presses = [];
  // Capture phase: a field or widget that stops Escape for its own use cannot swallow it.
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Escape" || event.repeat) return;
      const now = performance.now();
      presses = presses.filter((t) => now - t < WITHIN_MS);
      presses.push(now);
      if (presses.length >= PRESSES) leave();
    },
    true,
  );
}
