"""A new admin's first hour, in a real Chromium (issue 19): from an empty database, the start page's checklist leads
through the forms (no shell) to a working setup; a message dropped into the Maildir and polled from the admin
becomes an issue, and the checklist is gone. ``jemh demo`` gives a populated admin instead. Screenshots of every
step are saved under ``var/test-screenshots/`` (not committed) for a person to look at.

Written against today's forms (free-text issue type, JSON project and event-kind boxes left at their defaults, a
source form that shows every field): ``fill`` chooses an option where a field has become a choice."""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from inbound.cli import demo
from inbound.models import InboundMessage
from notifications.models import OutboundMessage
from trackers.models import Issue

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-screenshots"
PASSWORD = "s3cret-Pass-42"


class Walk:
    """The browser, the live server and where the screenshots of this walk go."""

    def __init__(self, page: Any, base: str, name: str) -> None:
        self.page, self.base = page, base
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def shot(self, what: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(self.folder / f"{self.count:02d}-{what}.png"), full_page=True)

    def go(self, path: str) -> None:
        self.page.goto(f"{self.base}{path}")

    def fill(self, selector: str, value: str) -> None:
        """Type into a text field, or choose the option of a select (by its value, else its label)."""
        field = self.page.locator(selector)
        if field.evaluate("e => e.tagName") == "SELECT":
            values = field.evaluate("e => Array.from(e.options).map(o => o.value)")
            field.select_option(value if value in values else None, label=None if value in values else value)
        else:
            field.fill(value)

    def save(self) -> None:
        self.page.click("input[name=_save]")
        errors = self.page.locator(".errornote, .errorlist")
        assert errors.count() == 0, errors.all_inner_texts()

    def steps(self) -> dict[str, str]:
        self.go("/admin/")
        rows = self.page.locator("#getting-started tr.checklist-step")
        return {
            rows.nth(i).locator("th").inner_text().split("\n")[0].split(". ", 1)[-1]: rows.nth(i).get_attribute(
                "data-state"
            )
            or ""
            for i in range(rows.count())
        }

    def follow_step(self, title: str) -> None:
        self.go("/admin/")
        self.page.click(f"#getting-started a:text-is('{title}')")


def sign_in(walk: Walk) -> None:
    get_user_model().objects.create_superuser("root", "root@example.test", PASSWORD)
    walk.go("/admin/")
    walk.page.fill("#id_username", "root")
    walk.page.fill("#id_password", PASSWORD)
    walk.page.click("input[type=submit]")
    walk.page.wait_for_url(f"{walk.base}/admin/")


def request_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Carol Customer <carol@customer.example>"
    message["To"] = "support@acme.example"
    message["Subject"] = "The printer is on fire"
    message["Message-ID"] = "<first-request@customer.example>"
    message.set_content("Hello,\n\nthe printer on floor 2 is on fire.\n")
    return message.as_bytes()


@pytest.mark.django_db(transaction=True)
def test_a_new_admin_follows_the_checklist_to_a_first_issue(
    live_server: Any, page: Any, settings: Any, tmp_path: Path
) -> None:
    settings.JEMH_PROCESS_INLINE = True  # "Poll now" processes what it captured at once (no worker here)
    maildir = tmp_path / "Maildir"
    walk = Walk(page, live_server.url, "getting-started")
    sign_in(walk)
    assert set(walk.steps().values()) == {"todo"}
    assert list(walk.steps()) == [
        "Create an instance",
        "Create a project in the tracker",
        "Create a profile with a complete default mapping",
        "Add a mail source",
        "Add a notification mapping",
        "Process a first mail",
    ]
    walk.shot("empty-start-page")

    walk.follow_step("Create an instance")
    walk.fill("#id_name", "Acme")
    walk.shot("instance-form")
    walk.save()
    assert walk.steps()["Create an instance"] == "done"

    walk.follow_step("Create a project in the tracker")
    walk.fill("#id_instance", "Acme")
    walk.fill("#id_key", "SUP")
    walk.fill("#id_name", "Support")
    walk.shot("project-form")
    walk.save()
    assert walk.steps()["Create a project in the tracker"] == "done"

    walk.follow_step("Create a profile with a complete default mapping")
    walk.fill("#id_name", "Support")
    walk.fill("#id_instance", "Acme")
    walk.fill("#id_catch_addresses-0-address", "support@acme.example")
    mapping = {
        "name": "Default",
        "project_key": "SUP",
        "issue_type": "Task",
        "default_summary": "(no subject)",
        "reporter_strategy": "sender",
        "default_reporter": "root",
        "assignee_strategy": "unassigned",
        "operating_mode": "create_and_comment",
        "unknown_sender_action": "email_only",
        "addressee_handling": "participants",
    }
    for name, value in mapping.items():
        walk.fill(f"#id_mappings-0-{name}", value)
    walk.page.check("#id_mappings-0-is_default")
    walk.shot("profile-form")
    walk.save()
    assert walk.steps()["Create a profile with a complete default mapping"] == "done"

    walk.follow_step("Add a mail source")
    walk.fill("#id_instance", "Acme")
    walk.fill("#id_name", "support-maildir")
    walk.fill("#id_kind", "maildir")
    walk.fill("#id_maildir_path", str(maildir))
    walk.shot("source-form")
    walk.save()
    assert walk.steps()["Add a mail source"] == "done"

    walk.follow_step("Add a notification mapping")
    walk.fill("#id_instance", "Acme")
    walk.fill("#id_name", "Everyone on the issue")
    assert walk.page.is_checked("#id_acknowledge_requester")  # requesters hear back, unless switched off
    walk.shot("notification-mapping-form")
    walk.save()
    steps = walk.steps()
    assert [state for state in steps.values()] == ["done"] * 5 + ["todo"]
    assert walk.page.locator("#misconfigurations").count() == 0
    walk.shot("checklist-all-but-mail")

    for sub in ("new", "cur", "tmp"):  # the MTA delivers into the Maildir
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    (maildir / "new" / "1.request.eml").write_bytes(request_mail())
    walk.go("/admin/inbound/source/")
    walk.page.check("input[name=_selected_action]")
    walk.page.select_option("select[name=action]", "poll_now")
    walk.page.click("button[name=index]")
    walk.shot("polled")

    message = InboundMessage.objects.get()
    assert (message.status, message.outcome) == ("processed", "created"), message.report
    issue = Issue.objects.get()
    walk.go("/admin/")
    assert walk.page.locator("#getting-started").count() == 0  # mail flowed: the checklist is gone
    walk.shot("start-page-after-mail")
    walk.go(f"/admin/inbound/inboundmessage/{message.pk}/change/")
    assert issue.key in walk.page.content()
    walk.shot("inbound-message")
    walk.page.click(f"a:text-is('{issue.key}')")
    assert "The printer is on fire" in walk.page.content()
    walk.shot("issue")


@pytest.mark.django_db(transaction=True)
def test_the_demo_gives_a_populated_admin(live_server: Any, page: Any, tmp_path: Path) -> None:
    walk = Walk(page, live_server.url, "demo")
    sign_in(walk)
    out = io.StringIO()
    assert demo.run({"maildir": str(tmp_path / "demo-maildir")}, out, io.StringIO()) == 0
    assert demo.run({"maildir": str(tmp_path / "demo-maildir")}, out, io.StringIO()) == 0  # again: nothing new
    assert InboundMessage.objects.count() == len(demo.SAMPLES) == Issue.objects.count()
    # its source trusts the demo MTA's verdicts, so each (authenticated) requester was acknowledged
    subjects = [m.subject for m in OutboundMessage.objects.all()]
    assert sum("We received your request" in s for s in subjects) == len(demo.SAMPLES), subjects
    walk.go("/admin/")
    assert walk.page.locator("#getting-started").count() == 0
    walk.shot("start-page")
    pages = {
        "instances": ("/admin/jemh/instance/", "Demo"),
        "projects": ("/admin/trackers/project/", "SUP"),
        "profiles": ("/admin/profiles/profile/", "Demo support"),
        "sources": ("/admin/inbound/source/", "demo-maildir"),
        "notification-mappings": ("/admin/notifications/notificationmapping/", "Everyone on the issue"),
        "inbound-messages": ("/admin/inbound/inboundmessage/", "SUP-1"),
        "issues": ("/admin/trackers/issue/", "The printer is on fire"),
        "issue-events": ("/admin/notifications/issueevent/", "SUP-1"),
        "outbound-messages": ("/admin/notifications/outboundmessage/", "SUP-1"),
    }
    for name, (path, expected) in pages.items():
        walk.go(path)
        assert expected in walk.page.content(), name
        walk.shot(name)


@pytest.mark.django_db(transaction=True)
def test_importing_a_second_profile_is_loud_in_the_browser(
    live_server: Any, page: Any, tmp_path: Path, smtp_mail: Any
) -> None:
    """The issue's case: importing a profile leaves two enabled profiles while a source names none. The import's
    page warns at once, the start page says what to fix, and the admins get one alert mail."""
    from inbound.models import Source, SourceKind
    from profiles.portability import export_profile_json

    walk = Walk(page, live_server.url, "misconfiguration")
    sign_in(walk)
    demo.run({"maildir": str(tmp_path / "demo-maildir")}, io.StringIO(), io.StringIO())
    smtp_mail.wait_for(2 * len(demo.SAMPLES))  # the demo's notifications
    smtp_mail.clear()
    Source.objects.create(instance=demo_instance(), name="pipe-in", kind=SourceKind.PIPE)  # no profile: fine so far
    exported = export_profile_json(demo_instance().profiles.get())
    walk.go("/admin/profiles/profile/import/")
    walk.fill("#id_instance", "Demo")
    walk.fill("#id_name", "Imported")
    walk.page.fill("textarea[name=text]", exported)
    walk.page.click("input[type=submit]")
    warning = walk.page.locator("ul.messagelist li.warning")
    assert "source 'pipe-in' names no profile" in warning.inner_text()
    walk.shot("import-warns")
    walk.go("/admin/")
    assert walk.page.locator("#misconfigurations li[data-kind=ambiguous-profile]").count() == 1
    walk.shot("start-page-needs-attention")
    [alert] = smtp_mail.wait_for(1)
    assert len(smtp_mail.wait_for(2, timeout=1)) == 1  # once
    assert alert.envelope_to == ["root@example.test"] and "misconfigured" in str(alert.message["Subject"])


def demo_instance() -> Any:
    from jemh.models import Instance

    return Instance.objects.get(name=demo.INSTANCE)
