"""Flag for support end to end, in a real headless Chromium at 1366 px: an admin reads a message's report and raw
source and flags it; a support user logs in, sees it, downloads the .eml and the profile export; the admin sees those
views in the access log; after unflagging the same URLs answer 404. The hostile HTML mail executes nothing and loads
nothing in either view (every request outside the live server is caught, and the mail's scripts would set a global)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.urls import reverse

from auditing.models import SupportAccess, SupportFlag, SupportSaw
from inbound.models import InboundMessage
from tests.auditing.conftest import hostile_mail, support_user

pytestmark = pytest.mark.django_db(transaction=True)
VIEWPORT = {"width": 1366, "height": 768}
GROUP_MIGRATION = "auditing.migrations.0007_support_staff_group_and_expiry_schedule"


class Watched:
    """A browser context whose every request is recorded; any request leaving the live server is aborted."""

    def __init__(self, chromium: Any, origin: str) -> None:
        self.context = chromium.new_context(viewport=VIEWPORT, accept_downloads=True)
        self.origin = origin
        self.outside: list[str] = []
        self.console: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.origin):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def fits_1366(self) -> bool:
        return bool(self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))

    def nothing_ran(self) -> None:
        """The mail's scripts and handlers would set ``hostile`` on the top window."""
        assert self.page.evaluate("typeof window.hostile") == "undefined"
        frame = self.page.frame_locator("iframe.jemh-mail-html")
        assert frame.locator("b").inner_text() == "support"  # the frame did load the sanitised body
        assert self.page.evaluate("typeof window.hostile") == "undefined"
        assert self.outside == [], self.outside
        assert not [line for line in self.console if "hostile" in line or "evil.example" in line], self.console


@pytest.fixture()
def watched(chromium: Any, live_server: Any) -> Iterator[Callable[[], Watched]]:
    made: list[Watched] = []

    def make() -> Watched:
        made.append(Watched(chromium, live_server.url))
        return made[-1]

    yield make
    for one in made:
        one.context.close()


def log_in(page: Any, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[type=submit]")


def test_flag_for_support_end_to_end(
    live_server: Any, watched: Callable[[], Watched], deliver: Callable[..., InboundMessage]
) -> None:
    # A transactional test's database was flushed by the ones before it: make the migration's group again.
    importlib.import_module(GROUP_MIGRATION).create_group(apps, None)
    message = deliver(hostile_mail("Printer on fire, with a script"))
    get_user_model().objects.create_superuser("root", "root@example.test", "s3cret-Pass-42")
    support_user("sam")
    base = live_server.url
    change = base + reverse("admin:inbound_inboundmessage_change", args=[message.pk])

    # The admin reads the report and the raw source, then flags the message.
    admin = watched()
    log_in(admin.page, change, "root", "s3cret-Pass-42")
    admin.page.wait_for_url(change)
    assert admin.page.locator("table.jemh-report").count() == 1
    assert "catch_address" in admin.page.locator("table.jemh-report").inner_text()
    admin.page.click("text=Read the stored mail")
    assert "Please help, the printer is on fire." in admin.page.locator(".jemh-mail-text").inner_text()
    assert admin.fits_1366()
    admin.nothing_ran()
    admin.page.click("text=Full source")
    assert "Subject: Printer on fire, with a script" in admin.page.locator(".jemh-source").inner_text()
    admin.page.goto(change)
    admin.page.click("text=Flag for support")
    admin.page.fill("#id_reason", "Why did this become a new issue?")
    admin.page.click("input[value='Flag for support']")
    admin.page.wait_for_url(change)
    assert "flagged for support until" in admin.page.content()
    flag = SupportFlag.objects.get()
    reads = admin.page.locator("#jemh-raw-reads").inner_text()
    assert "root" in reads and "full source" in reads and "HTML body" in reads

    # The support user logs in, sees it, opens it, downloads the .eml and the profile export.
    support = watched()
    log_in(support.page, base + reverse("support:login"), "sam", "pw-sam-42!")
    support.page.wait_for_url(base + reverse("support:flags"))
    assert "Why did this become a new issue?" in support.page.locator("table.jemh-flags").inner_text()
    assert support.fits_1366()
    support.page.get_by_role("link", name="open", exact=True).click()
    item = base + reverse("support:item", args=[flag.pk])
    support.page.wait_for_url(item)
    assert "Please help, the printer is on fire." in support.page.locator(".jemh-mail-text").inner_text()
    assert "invoice.pdf" in support.page.locator("table.jemh-mail-attachments").inner_text()
    assert support.page.locator("table.jemh-report").count() == 1
    assert '"schema": "jemh.profile"' in support.page.locator("pre.jemh-profile").inner_text()
    assert support.fits_1366()
    support.nothing_ran()
    with support.page.expect_download() as eml:
        support.page.click("text=Download the .eml")
    assert eml.value.suggested_filename == f"flag-{flag.pk}.eml"
    with open(eml.value.path(), "rb") as saved:
        assert b"Subject: Printer on fire, with a script" in saved.read()
    with support.page.expect_download() as profile:
        support.page.click("text=Download the profile export (JSON)")
    with open(profile.value.path(), "rb") as saved:
        assert json.loads(saved.read())["profile"]["name"] == "Support"
    assert support.page.goto(base + reverse("admin:index")).status == 403  # support never opens the admin

    # The admin sees those views in the access log.
    seen = set(SupportAccess.objects.filter(flag=flag).values_list("what", flat=True))
    assert seen == {SupportSaw.ITEM, SupportSaw.HTML, SupportSaw.EML, SupportSaw.PROFILE}
    admin.page.goto(change)
    log = admin.page.locator("td.jemh-access-log").inner_text()
    for what in ("item page", "HTML body", ".eml download", "profile export download"):
        assert what in log, log
    assert "sam" in log and "127.0.0.1" in log
    assert admin.fits_1366()

    # After unflagging, the same URLs answer 404.
    admin.page.click("input[value='Unflag']")
    admin.page.wait_for_url(change)
    assert "withdrawn" in admin.page.locator("#jemh-support-flags").inner_text()
    for name in ("item", "html", "eml", "profile"):
        url = base + reverse(f"support:{name}", args=[flag.pk])
        assert support.page.request.get(url).status == 404, name
    assert support.page.goto(item).status == 404
    support.page.goto(base + reverse("support:flags"))
    assert "Nothing is flagged for support now." in support.page.content()
    assert admin.outside == [] and support.outside == []
    # The watch does see a request leaving the live server (so the empty lists above mean something).
    support.page.evaluate("fetch('http://evil.example/control').catch(() => null)")
    assert support.outside == ["http://evil.example/control"]


def test_the_frame_alone_stops_unsanitised_scripts_and_remote_loads(
    settings: Any, live_server: Any, watched: Callable[[], Watched]
) -> None:
    """Defence in depth: even HTML that escaped the sanitiser runs nothing and fetches nothing in the frame."""
    settings.ROOT_URLCONF = "tests.auditing.frame_urls"
    browser = watched()
    browser.page.goto(live_server.url + "/test-host/")
    frame = browser.page.frame_locator("iframe.jemh-mail-html")
    assert "the printer is on fire" in frame.locator("body").inner_text()
    assert browser.page.evaluate("typeof window.hostile") == "undefined"
    assert browser.outside == [], browser.outside  # blocked by the policy before any request was made
    assert any("Content Security Policy" in line for line in browser.console), browser.console
