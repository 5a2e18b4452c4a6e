"""Fixtures of the audit tests: the pipeline tests' instance, local-tracker projects and profile, a pipe source
using that profile, and a helper that captures raw mail through it and processes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from inbound.capture import capture
from inbound.models import InboundMessage, Source, SourceKind
from inbound.pipeline.service import process_inbound
from profiles.models import Profile
from tests.inbound import conftest as inbound
from tests.pipeline import conftest as pipeline
from tests.tenancy import member_of_every_instance

# The pipeline tests' fixtures, shared.
agents, instance, our_domain, profile, projects = (
    pipeline.agents,
    pipeline.instance,
    pipeline.our_domain,
    pipeline.profile,
    pipeline.projects,
)
blobs_in_swift = inbound.blobs_in_swift  # the blob storage on a fresh bucket of the real Swift S3 store


@pytest.fixture()
def pipe(instance: Any, profile: Profile) -> Source:
    return Source.objects.create(instance=instance, name="pipe-in", kind=SourceKind.PIPE, profile=profile)


@pytest.fixture()
def deliver(pipe: Source) -> Callable[..., InboundMessage]:
    """Capture raw mail through the pipe source and process it; returns the audit row."""

    def run(raw: bytes) -> InboundMessage:
        message = capture(pipe, raw).message
        assert message is not None
        process_inbound(message.pk)
        message.refresh_from_db()
        return message

    return run


HOSTILE_HTML = """<html><head><script>window.top.hostile = 1; fetch('http://evil.example/beacon');</script>
<link rel="stylesheet" href="http://evil.example/style.css"></head>
<body onload="window.top.hostile = 2">
<p>Hello <b>support</b>, the printer is on fire.</p>
<img src="http://evil.example/pixel.gif" alt="tracker">
<img src="https://evil.example/secure-pixel.gif">
<div style="background: url(http://evil.example/bg.png)">styled</div>
<iframe src="http://evil.example/frame"></iframe>
<a href="javascript:window.top.hostile = 3">click</a>
<svg><script>window.top.hostile = 4</script></svg>
<img src="x" onerror="window.top.hostile = 5">
</body></html>"""


def hostile_mail(subject: str = "Fire, again") -> bytes:
    """A multipart mail whose HTML body tries scripts, handlers and remote loads, with an attachment."""
    from email.message import EmailMessage
    from email.utils import make_msgid

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "Carol Customer <carol@customer.example>",
        "support@support.example.com",
        subject,
    )
    message["Message-ID"] = make_msgid(domain="customer.example")
    message.set_content("Please help, the printer is on fire.")
    message.add_alternative(HOSTILE_HTML, subtype="html")
    message.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf", filename="invoice.pdf")
    return message.as_bytes()


def staff_user(username: str, *permissions: str) -> Any:
    """A staff user (password ``pw-<username>-42!``) holding exactly ``permissions`` (``app_label.codename``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user(username, f"{username}@example.test", f"pw-{username}-42!")
    user.is_staff = True
    user.save()
    member_of_every_instance(user)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def support_user(username: str = "sam", *, is_staff: bool = False) -> Any:
    """A member of the ``Support staff`` group the migration made (password ``pw-<username>-42!``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(username, f"{username}@example.test", f"pw-{username}-42!")
    user.is_staff = is_staff
    user.save()
    member_of_every_instance(user)
    user.groups.add(Group.objects.get(name="Support staff"))
    return user
