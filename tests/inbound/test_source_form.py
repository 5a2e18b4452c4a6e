"""The source's form fits its kind: a pipe source shows the MTA lines to paste; a recovered source no stale error."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from inbound import health
from inbound.models import Source, SourceKind
from inbound.sources.mta_setup import delivery_command, mta_setup
from jemh.models import Instance
from profiles.models import CatchAddress, Profile

pytestmark = pytest.mark.django_db


def test_delivery_command_names_this_python_manage_py_and_the_source(instance: Any) -> None:
    pipe = Source.objects.create(instance=instance, name="help desk", kind=SourceKind.PIPE)
    words = shlex.split(delivery_command(pipe))
    assert words == [
        sys.executable,
        str(Path(settings.BASE_DIR) / "manage.py"),
        "jemh",
        "deliver",
        "--source",
        "help desk",
    ]
    other = Instance.objects.create(name="Other")
    Source.objects.create(instance=other, name="help desk", kind=SourceKind.PIPE)
    assert shlex.split(delivery_command(pipe))[-2:] == ["--instance", instance.name]  # the name alone is ambiguous


def test_mta_lines_use_the_profiles_catch_address(instance: Any) -> None:
    profile = Profile.objects.create(instance=instance, name="Support")
    CatchAddress.objects.create(profile=profile, address=r"help-.*@example\.org", is_regex=True)
    CatchAddress.objects.create(profile=profile, address="help@example.org")
    pipe = Source.objects.create(instance=instance, name="mx", kind=SourceKind.PIPE, profile=profile)
    setup = mta_setup(pipe, python="/srv/jemh/.venv/bin/python", manage=Path("/srv/jemh/manage.py"))
    command = "/srv/jemh/.venv/bin/python /srv/jemh/manage.py jemh deliver --source mx"
    assert setup.command == command
    assert f'help: "|{command}"' in setup.postfix_alias
    assert "jemh_mx unix - n n - - pipe\n  flags=DR user=" in setup.postfix_transport
    assert setup.postfix_transport.endswith(f"argv={command}")
    assert "help@example.org jemh_mx:" in setup.postfix_transport_map
    assert "local_parts = help\n  domains = example.org\n  transport = jemh_mx_pipe" in setup.exim_router
    assert (
        f"driver = pipe\n  command = {command}\n" in setup.exim_transport and "temp_errors = 75" in setup.exim_transport
    )


def test_pipe_source_page_shows_the_lines_to_paste(admin_client: Any, instance: Any) -> None:
    pipe = Source.objects.create(instance=instance, name="mx", kind=SourceKind.PIPE)
    page = admin_client.get(reverse("admin:inbound_source_change", args=[pipe.pk])).content.decode()
    assert "Delivery by the MTA" in page and "/etc/aliases" in page and "master.cf" in page
    assert "driver = pipe" in page and "jemh deliver --source mx" in page
    imap = Source.objects.create(instance=instance, name="box", kind=SourceKind.IMAP, host="imap.example.org")
    page = admin_client.get(reverse("admin:inbound_source_change", args=[imap.pk])).content.decode()
    assert "/etc/aliases" not in page and "jemh-kind-fields" in page


def test_recovered_source_shows_no_stale_error(admin_client: Any, instance: Any) -> None:
    # Issue 19: "last error" stayed beside a healthy source after it recovered.
    source = Source.objects.create(instance=instance, name="flaky", kind=SourceKind.MAILDIR, maildir_path="/x")
    health.record_failure(source, "Maildir unreadable: permission denied")
    listing = admin_client.get(reverse("admin:inbound_source_changelist")).content.decode()
    assert "permission denied" in listing
    health.record_success(source)
    listing = admin_client.get(reverse("admin:inbound_source_changelist")).content.decode()
    assert "permission denied" not in listing
    page = admin_client.get(reverse("admin:inbound_source_change", args=[source.pk])).content.decode()
    assert "none since it recovered (before that: Maildir unreadable: permission denied)" in page
