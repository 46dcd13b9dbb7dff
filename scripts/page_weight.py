"""First-load weight of the built book's pages: every byte a cold visit downloads.

    .venv/bin/python scripts/page_weight.py _build/full/_build/html [page ...]

Serves the HTML folder on 127.0.0.1, opens each page (default: the chapter pages) in
Debian's headless Chromium with an empty cache, waits for the network to go idle, and
sums the response bodies of every request (HTML, CSS, scripts, fonts, images), with the
five largest; then scrolls to the end (figures load lazily) and gives that total too.
``tests/test_browser.py`` uses :func:`first_load` to hold a budget.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from contextlib import contextmanager
from pathlib import Path


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(root: Path):
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def first_load(browser, url: str, width: int = 1400) -> dict:
    """A cold visit: {"total": bytes of the first load, "requests": n, "files":
    [(bytes, url), ...], "full": bytes once scrolled to the end (lazy figures)}."""
    context = browser.new_context(
        viewport={"width": width, "height": 900}, service_workers="block"
    )
    tab = context.new_page()
    files = []
    tab.on(
        "requestfinished",
        lambda r: files.append((r.sizes()["responseBodySize"], r.url)),
    )
    tab.goto(url, wait_until="networkidle", timeout=60_000)
    tab.wait_for_timeout(500)
    first = sorted(files, reverse=True)
    height = tab.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + 900, 600):
        tab.evaluate(f"window.scrollTo(0, {y})")
        tab.wait_for_timeout(60)
    tab.wait_for_load_state("networkidle")
    context.close()
    return {
        "total": sum(s for s, _ in first),
        "requests": len(first),
        "files": first,
        "full": sum(s for s, _ in files),
    }


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0])
    pages = argv[1:] or sorted(
        p.relative_to(root).as_posix() for p in (root / "notebooks").glob("*.html")
    )
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p, serve(root) as base:
        browser = p.chromium.launch(
            executable_path=exe, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for page in pages:
            w = first_load(browser, base + page)
            print(
                f"{page}: first load {w['total'] / 1e6:.2f} MB in {w['requests']} "
                f"requests; {w['full'] / 1e6:.2f} MB once scrolled to the end"
            )
            for size, url in w["files"][:5]:
                print(f"    {size / 1e3:9.1f} kB  {url.removeprefix(base)}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
