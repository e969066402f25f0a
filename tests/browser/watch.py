"""What a browser test watches besides its own steps: console errors (CSP violations are reported there), page
errors, failed requests, and horizontal overflow."""


class ConsoleWatch:
    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text} @ {message.location.get('url', '')}")

    def assert_clean(self):
        assert not self.errors, "\n".join(self.errors)


def watch(page) -> ConsoleWatch:
    return ConsoleWatch(page)


OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const width = doc.clientWidth;
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.position === 'fixed' || el.closest('.sr, [hidden]') || scrolls(el)) continue;
    const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    wide.push(el.tagName.toLowerCase() + cls + ' right=' + Math.round(box.right));
    if (wide.length > 5) break;
  }
  return {scrollWidth: doc.scrollWidth, width, wide};
}"""


def overflow(page) -> dict:
    """The page's scroll width against its viewport, and the first elements that stick out past it, scrolled off
    or clipped (inside a scrolling container such as `.table-wrap` is allowed: that is how wide tables are shown on
    a phone)."""
    return page.evaluate(OVERFLOW_JS)


def assert_fits(page, where: str = ""):
    found = overflow(page)
    assert found["scrollWidth"] <= found["width"] + 1 and not found["wide"], f"{where or page.url} is too wide: {found}"


def settle(page) -> None:
    """The page has loaded and no htmx request is in flight (htmx marks an element with `htmx-request` while its
    request runs; those triggered on load start before the load event). Unlike Playwright's "networkidle" it does
    not wait out half a second of silence on every page."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
