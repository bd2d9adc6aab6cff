"""Draws the app's PNG icons from their SVG sources (static/icons/), with Chromium.

Run by `make icons` (`python -m supportgroup.icons`, needs the dev extras) after editing icon.svg or icon-maskable.svg; the PNGs are committed.
Playwright drives Debian's Chromium (the one the browser tests use): no other image tool.
"""

from __future__ import annotations

import base64
from pathlib import Path

from playwright.sync_api import sync_playwright

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
CHROMIUM_CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
# (source, output, size): the manifest's icons (supportgroup/pwa.py), the favicon and the
# home-screen icon of iOS (full square: iOS rounds the corners itself).
RENDERS = [
    ("icon.svg", "icon-192.png", 192),
    ("icon.svg", "icon-512.png", 512),
    ("icon.svg", "favicon-32.png", 32),
    ("icon-maskable.svg", "icon-maskable-192.png", 192),
    ("icon-maskable.svg", "icon-maskable-512.png", 512),
    ("icon-maskable.svg", "apple-touch-icon.png", 180),
]


def main() -> None:
    executable = next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            for source, output, size in RENDERS:
                svg = base64.b64encode((ICONS / source).read_bytes()).decode()
                page = browser.new_page(viewport={"width": size, "height": size})
                page.set_content(
                    '<body style="margin:0;background:transparent">'
                    f'<img src="data:image/svg+xml;base64,{svg}" width="{size}" height="{size}"'
                    ' style="display:block" alt=""></body>'
                )
                page.wait_for_function("document.images[0].complete")
                page.screenshot(path=ICONS / output, omit_background=True)
                page.close()
                print(f"static/icons/{output} ({size}x{size})")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
