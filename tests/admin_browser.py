"""Helpers of the admin's browser tests: a signed-in Chromium page at a laptop's 1366x768, and screenshots kept as
test artefacts under ``var/screenshots/`` (gitignored) for a person to look at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client

VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def signed_in_page(chromium: Any, live_server: Any, user: Any) -> Any:
    """A page of a new browser context at 1366x768, signed in as ``user`` (by session cookie: no password hashing)."""
    client = Client()
    client.force_login(user)
    context = chromium.new_context(viewport=VIEWPORT)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def within_viewport(page: Any, selector: str) -> bool:
    """Whether every element matching ``selector`` is wholly visible as the page is first shown: inside the window
    and inside the box of any scrolling container it is in (the admin's list scrolls sideways in its own box)."""
    return bool(
        page.evaluate(
            """(selector) => {
                const found = Array.from(document.querySelectorAll(selector));
                return found.length > 0 && found.every((el) => {
                    const box = el.getBoundingClientRect();
                    let right = window.innerWidth, left = 0;
                    for (let up = el.parentElement; up; up = up.parentElement) {
                        const style = getComputedStyle(up);
                        if (["auto", "scroll", "hidden"].includes(style.overflowX)) {
                            const outer = up.getBoundingClientRect();
                            right = Math.min(right, outer.right);
                            left = Math.max(left, outer.left);
                        }
                    }
                    return box.width > 0 && box.left >= left - 0.5 && box.right <= right + 0.5;
                });
            }""",
            selector,
        )
    )


def fits_sideways(page: Any) -> bool:
    """Whether nothing on the page scrolls sideways: not the page, nor the list in its box."""
    return bool(
        page.evaluate(
            """() => document.documentElement.scrollWidth <= window.innerWidth &&
                Array.from(document.querySelectorAll(".results")).every((box) => box.scrollWidth <= box.clientWidth)"""
        )
    )


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
