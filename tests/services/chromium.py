"""Headless Debian Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

from typing import Any

from tests.services.base import require_binary

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def start_chromium() -> tuple[Any, Any]:
    executable = require_binary("/usr/bin/chromium", "chromium")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, headless=True, args=ARGS)
    return browser, playwright
