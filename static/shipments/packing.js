// Scan stations (packing, handover, returns): the scan input keeps focus, Enter submits, refusals beep.
(function () {
  "use strict";

  function scanInput() {
    return document.querySelector("[data-scan-input]");
  }

  function refocus() {
    const input = scanInput();
    if (input && document.activeElement !== input) input.focus({ preventScroll: true });
  }

  let audio = null;
  function beep(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = kind === "error" ? "square" : "sine";
      osc.frequency.value = kind === "error" ? 220 : 880;
      gain.gain.value = kind === "error" ? 0.25 : 0.08;
      osc.connect(gain).connect(audio.destination);
      const length = kind === "error" ? 0.45 : 0.08;
      osc.start();
      osc.stop(audio.currentTime + length);
    } catch (e) {
      // no audio device: the colour and the message still say it
    }
  }

  function flash(kind) {
    document.body.classList.remove("scan-flash-error", "scan-flash-ok");
    void document.body.offsetWidth; // restart the animation
    document.body.classList.add(kind === "error" ? "scan-flash-error" : "scan-flash-ok");
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!scanInput()) return;
    refocus();
    // A click elsewhere (a button, the page) must not strand the scanner: focus comes back right after. A packer
    // who tabs to a button (the documents, next order) keeps it; the next scan's first character brings focus back.
    let tabbed = false;
    document.addEventListener("mousedown", () => { tabbed = false; }, true);
    scanInput().addEventListener("blur", () => window.setTimeout(() => { if (!tabbed) refocus(); }, 150));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Tab") { tabbed = true; return; }
      const typing = event.key.length === 1 && event.key !== " " && !event.ctrlKey && !event.metaKey && !event.altKey;
      const field = document.activeElement && document.activeElement.matches("input, textarea, select");
      if (typing && !field) { tabbed = false; refocus(); }
    });
    document.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
        const undo = document.querySelector("[data-undo]:not([disabled])");
        if (undo) {
          event.preventDefault();
          // Swapped-in content is wired by htmx only when it settles (a few ms later); a quick Ctrl+Z after a
          // scan would otherwise submit the undo form the old way and reload the station.
          if (window.htmx && undo.form) window.htmx.process(undo.form);
          undo.click();
        }
      }
    });
  });

  // The form stays on the page; empty the input once the request is sent so the next scan starts clean.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt.closest && event.detail.elt.closest("[data-scan-form]");
    if (form) {
      const input = form.querySelector("[data-scan-input]");
      if (input) window.setTimeout(() => { input.value = ""; }, 0);
    }
  });
  document.addEventListener("htmx:afterSettle", () => {
    refocus();
    const panel = document.querySelector("[data-open-documents]");
    if (panel) {
      const url = panel.dataset.openDocuments;
      panel.removeAttribute("data-open-documents");
      window.open(url, "_blank", "noopener");
    }
  });
  document.addEventListener("scan-error", () => { beep("error"); flash("error"); });
  document.addEventListener("scan-ok", () => { beep("ok"); flash("ok"); });
  document.addEventListener("packing-complete", () => { beep("ok"); flash("ok"); });
})();
