"""The weight of the reader pages a phone downloads: every request the support page and
the appeal box make, in English and in Russian, as Chromium loads them.

    .venv/bin/python bench/page_weight.py

Serves the app with gunicorn on a scratch SQLite database and prints, per page and
language, the number of requests and the bytes of their bodies (uncompressed, as served:
no proxy compresses them here). The issue's budget: under 30 KB.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import migrate, serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("/", "/appeal")
LANGUAGES = ("en", "ru")
BUDGET = 30 * 1024
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def weigh(base: str) -> list[tuple[str, str, int, int]]:
    rows = []
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path="/usr/bin/chromium",
            args=CHROMIUM_FLAGS,
            viewport={"width": 390, "height": 844},
        )
        for path in PAGES:
            for language in LANGUAGES:
                bodies: list[int] = []
                page = context.new_page()
                page.on("requestfinished", lambda request, into=bodies: into.append(_size(request)))
                page.goto(f"{base}{path}?lang={language}", wait_until="networkidle")
                page.close()
                rows.append((path, language, len(bodies), sum(bodies)))
        context.close()
    return rows


def _size(request) -> int:
    response = request.response()
    return len(response.body()) if response is not None else 0


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{scratch}/weight.sqlite3",
            "STRIPE_API_BASE": "http://127.0.0.1:9",
        }
        migrate(env, ROOT)
        server, port = serve("app:app", env, ROOT, workers=1)
        try:
            rows = weigh(f"http://127.0.0.1:{port}")
        finally:
            server.terminate()
            server.wait()
    print(f"{'page':10} {'lang':5} {'requests':>8} {'bytes':>8}")
    for path, language, requests, size in rows:
        verdict = "ok" if size < BUDGET else "over budget"
        print(f"{path:10} {language:5} {requests:>8} {size:>8}  {size / 1024:.1f} KB {verdict}")


if __name__ == "__main__":
    main()
