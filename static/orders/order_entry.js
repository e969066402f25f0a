// New order: find a product (name, SKU or barcode), pick it with the mouse or the keyboard, adjust quantities with
// steppers. The server sends the search results (htmx); this script only moves focus and copies a result into a
// line row from the page's <template>. No inline script: the strict CSP stays.
(function () {
  function entry() { return document.querySelector("[data-order-entry]"); }

  function refresh(root) {
    const rows = root.querySelectorAll("[data-entry-line]");
    root.querySelector("[data-entry-empty]").hidden = rows.length > 0;
    rows.forEach((row) => {
      const qty = parseInt(row.querySelector("[data-entry-qty]").value, 10) || 0;
      const available = parseInt(row.dataset.available, 10);
      row.querySelector("[data-entry-short]").hidden = !(available >= 0 && qty > available);
    });
  }

  function addLine(root, option) {
    const sku = option.dataset.sku;
    const existing = root.querySelector(`[data-entry-line][data-sku="${CSS.escape(sku)}"]`);
    if (existing) {
      const qty = existing.querySelector("[data-entry-qty]");
      qty.value = (parseInt(qty.value, 10) || 0) + 1;
    } else {
      const row = root.querySelector("[data-entry-template]").content.firstElementChild.cloneNode(true);
      row.dataset.sku = sku;
      row.dataset.available = option.dataset.available;
      row.querySelector("[data-entry-sku]").textContent = sku;
      row.querySelector("[data-entry-name]").textContent = option.dataset.name;
      row.querySelector("[data-entry-available]").textContent = option.dataset.available;
      row.querySelector("[data-entry-price]").textContent = option.dataset.price;
      row.querySelector("input[name=line_sku]").value = sku;
      root.querySelector("[data-entry-lines]").appendChild(row);
    }
    const search = root.querySelector("[data-pick-search]");
    search.value = "";
    root.querySelector("#product-pick").replaceChildren();
    refresh(root);
    search.focus();
  }

  document.addEventListener("click", (event) => {
    const root = entry();
    if (!root || !root.contains(event.target)) return;
    const option = event.target.closest("[data-pick]");
    if (option) { addLine(root, option); return; }
    const step = event.target.closest("[data-step]");
    if (step) {
      const qty = step.parentElement.querySelector("[data-entry-qty]");
      qty.value = Math.max(1, (parseInt(qty.value, 10) || 1) + parseInt(step.dataset.step, 10));
      refresh(root);
      return;
    }
    const remove = event.target.closest("[data-entry-remove]");
    if (remove) { remove.closest("[data-entry-line]").remove(); refresh(root); root.querySelector("[data-pick-search]").focus(); }
  });

  document.addEventListener("keydown", (event) => {
    const root = entry();
    if (!root || !root.contains(event.target)) return;
    const options = Array.from(root.querySelectorAll("[data-pick]"));
    const search = root.querySelector("[data-pick-search]");
    if (event.target === search) {
      if (event.key === "ArrowDown" && options.length) { event.preventDefault(); options[0].focus(); }
      if (event.key === "Enter") {  // Enter in the search adds the first result, never submits the order
        event.preventDefault();
        if (options.length) addLine(root, options[0]);
      }
      return;
    }
    const index = options.indexOf(event.target);
    if (index >= 0) {
      if (event.key === "ArrowDown") { event.preventDefault(); (options[index + 1] || options[index]).focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (options[index - 1] || search).focus(); }
      if (event.key === "Escape") { search.focus(); }
      return;
    }
    if (event.target.matches("[data-entry-qty]") && event.key === "Enter") { event.preventDefault(); search.focus(); }
  });

  document.addEventListener("input", (event) => {
    const root = entry();
    if (root && event.target.matches("[data-entry-qty]")) refresh(root);
  });
})();
