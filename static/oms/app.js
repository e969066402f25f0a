// Small behaviours kept out of templates so the Content Security Policy can forbid inline script.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Status colours come from the shop's settings; set them as a CSS variable (no inline style attributes).
function paintStatusColours(root) {
  root.querySelectorAll("[data-color]").forEach((el) => el.style.setProperty("--dot", el.dataset.color));
}
document.addEventListener("DOMContentLoaded", () => paintStatusColours(document));
document.addEventListener("htmx:afterSettle", (event) => paintStatusColours(event.target));
