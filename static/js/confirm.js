// Asks before a form with data-confirm does something that cannot be undone. A yes here
// posts confirm=yes, so the server skips the confirmation page it shows without JavaScript
// (supportgroup/confirm.py).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const message = form.dataset ? form.dataset.confirm : null;
  if (!message) return;
  if (!window.confirm(message)) {
    event.preventDefault();
    return;
  }
  if (!form.querySelector('input[name="confirm"]')) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "confirm";
    input.value = "yes";
    form.append(input);
  }
}, true);
