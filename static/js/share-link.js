// Invitation links (templates/groups/_invite_link.html): a Copy button, and Share where the
// phone has the Web Share API. Without this script the link is plain text to select.
function copyText(input) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(input.value);
  // Plain http on a local network: the older way, from the selected field.
  input.focus(); input.select();
  return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

document.querySelectorAll("[data-invite-link]").forEach((box) => {
  const input = box.querySelector("[data-link]");
  const status = box.querySelector("[data-copy-status]");
  const copy = box.querySelector("[data-copy]");
  const share = box.querySelector("[data-share]");
  const say = (text) => { status.textContent = text; };
  copy.hidden = false;
  copy.addEventListener("click", () => {
    copyText(input).then(
      () => say("Copied. Paste it into a message to the person you're inviting."),
      () => { input.focus(); input.select(); say("Couldn't copy here: the link is selected, copy it from your keyboard or menu."); },
    );
  });
  if (navigator.share) {
    share.hidden = false;
    // The group's name stays out of what is shared: the message may be read by others.
    share.addEventListener("click", () => {
      navigator.share({ title: "An invitation", text: "An invitation to join our group:", url: input.value })
        .catch(() => {}); // closed without sharing: nothing to say
    });
  }
  input.addEventListener("focus", () => input.select());
});
