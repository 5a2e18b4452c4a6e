"""The inbound audit's actions behind their own permissions: delete (with a reason, leaving a deletion record and
removing the stored mail), process again and make a test case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from auditing.models import InboundDeletion
from inbound.models import InboundMessage
from jemh.storage import blob_storage
from profiles.models import TestCase
from tests.pipeline.conftest import mail
from tests.tenancy import member_of_every_instance

pytestmark = pytest.mark.django_db
LIST = reverse("admin:inbound_inboundmessage_changelist")


def holder_of(*codenames: str) -> tuple[Client, Any]:
    user = member_of_every_instance(
        get_user_model().objects.create_user("auditor", "auditor@example.org", is_staff=True)
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="inbound", codename__in=["view_inboundmessage", *codenames])
    )
    client = Client()
    client.force_login(user)
    return client, user


def test_delete_needs_a_reason_then_removes_row_and_mail_and_leaves_a_record(
    deliver: Callable[..., InboundMessage], django_capture_on_commit_callbacks: Any
) -> None:
    message = deliver(mail(subject="Please forget me"))
    assert message.raw_blob and blob_storage().exists(message.raw_blob)
    client, user = holder_of("erase_inboundmessage")
    chosen = {"action": "delete_with_reason", "_selected_action": [message.pk]}
    asked = client.post(LIST, chosen)
    assert asked.status_code == 200 and "Why these messages are deleted" in asked.content.decode()
    no_reason = client.post(LIST, {**chosen, "apply": "1", "reason": "  "})
    assert no_reason.status_code == 200 and "This field is required" in no_reason.content.decode()
    assert InboundMessage.objects.filter(pk=message.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(LIST, {**chosen, "apply": "1", "reason": "The sender asked us to."})
    assert done.status_code == 302
    assert not InboundMessage.objects.filter(pk=message.pk).exists()
    assert not blob_storage().exists(message.raw_blob)
    record = InboundDeletion.objects.get()
    assert (record.inbound_id, record.deleted_by, record.deleted_by_name) == (message.pk, user, "auditor")
    assert record.reason == "The sender asked us to." and record.raw_mail_deleted
    assert record.message_id_hash == message.message_id_hash != ""
    assert record.instance_id == message.instance_id and record.received_at == message.received_at


def test_the_deletion_record_is_read_only_even_for_a_superuser(
    admin_client: Client, deliver: Callable[..., InboundMessage], django_capture_on_commit_callbacks: Any
) -> None:
    message = deliver(mail())
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            LIST, {"action": "delete_with_reason", "_selected_action": [message.pk], "apply": "1", "reason": "spam"}
        )
    record = InboundDeletion.objects.get()
    page = admin_client.get(reverse("admin:auditing_inbounddeletion_change", args=[record.pk])).content.decode()
    assert "spam" in page and 'name="_save"' not in page
    assert admin_client.get(reverse("admin:auditing_inbounddeletion_delete", args=[record.pk])).status_code == 403
    records = reverse("admin:auditing_inbounddeletion_changelist")
    found = admin_client.get(records, {"q": f"<{message.message_id}>"}).context["cl"].result_list
    assert [r.pk for r in found] == [record.pk]  # found by the Message-ID the mail had (its keyed hash)
    assert not admin_client.get(records, {"q": "other@mail.example"}).context["cl"].result_list
    assert [r.pk for r in admin_client.get(records, {"q": str(message.pk)}).context["cl"].result_list] == [record.pk]


def test_make_test_case_and_process_again_each_take_their_own_permission(
    deliver: Callable[..., InboundMessage],
) -> None:
    message = deliver(mail(subject="Make me a case"))
    client, _ = holder_of("make_testcase_inboundmessage")
    offered = client.get(LIST).context["action_form"].fields["action"].choices
    assert {value for value, _ in offered if value} == {"make_test_case"}
    client.post(LIST, {"action": "make_test_case", "_selected_action": [message.pk]})
    assert TestCase.objects.get().inbound_id == message.pk
    client.post(LIST, {"action": "process_again", "_selected_action": [message.pk]})  # not theirs: nothing happens
    assert InboundMessage.objects.get(pk=message.pk).updated_at == message.updated_at
