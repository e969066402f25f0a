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

// A classic form (not htmx) posts once: a second press while the first is on its way (a double click, a second
// Enter) is dropped, so nothing is made twice. htmx forms drop it themselves. A form whose answer leaves the page
// where it is (a file download) may post again after a few seconds, or as soon as the page is shown again.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || form.method !== "post") return;
  if ([...form.attributes].some((attribute) => attribute.name.startsWith("hx-"))) return;
  if (form.dataset.sending) {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "1";
  setTimeout(() => delete form.dataset.sending, 5000);
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-sending]").forEach((form) => delete form.dataset.sending);
});
