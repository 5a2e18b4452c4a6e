"""The local tracker in the admin, through Django's test Client: usable, validated, and emitting events."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import FileResponse
from django.test import Client
from django.urls import reverse

from trackers.interface import AttachmentUpload, NewComment, NewIssue
from trackers.local import LocalTracker
from trackers.models import Comment, Issue, Project
from trackers.signals import EventKind, FieldChange, IssueEventData


@pytest.fixture()
def admin_client_(db: None) -> tuple[Client, Any]:
    root = get_user_model().objects.create_superuser("root", "root@example.test", "s3cret-Pass-42")
    client = Client()
    client.force_login(root)
    return client, root


@pytest.fixture()
def commit(django_capture_on_commit_callbacks: Any) -> Any:
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _inlines(issue: Issue | None) -> dict[str, str]:
    """Management and existing-row data of the three inlines, as the change form would post them."""
    data: dict[str, str] = {}
    rows: dict[str, list[Any]] = {
        "comments": list(issue.comments.all()) if issue else [],
        "attachments": list(issue.attachments.all()) if issue else [],
        "message_ids": list(issue.message_ids.all()) if issue else [],
    }
    for prefix, existing in rows.items():
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(len(existing) + (1 if prefix == "comments" else 0)),
                f"{prefix}-INITIAL_FORMS": str(len(existing)),
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
        for i, row in enumerate(existing):
            data[f"{prefix}-{i}-id"] = str(row.pk)
            data[f"{prefix}-{i}-issue"] = str(issue.pk)
            if prefix == "comments":
                data[f"{prefix}-{i}-body"] = row.body
    return data


def _form(issue: Issue, **changes: str) -> dict[str, str]:
    data = {
        "summary": issue.summary,
        "description": issue.description,
        "issue_type": issue.issue_type,
        "priority": issue.priority,
        "status": issue.status,
        "resolution": issue.resolution,
        "reporter": str(issue.reporter_id or ""),
        "assignee": str(issue.assignee_id or ""),
        "labels": ", ".join(issue.labels),
        "custom_fields": "{}",
        **_inlines(issue),
    }
    data.update(changes)
    return data


def test_issue_created_in_the_admin_gets_a_key_and_emits_created(
    admin_client_: tuple[Client, Any], tracker: LocalTracker, events: list[IssueEventData], commit: Any
) -> None:
    client, root = admin_client_
    data = {
        "project": str(Project.objects.get(key="ABC").pk),
        "summary": "Made by hand",
        "description": "",
        "issue_type": "Bug",
        "priority": "Low",
        "status": "Open",
        "resolution": "",
        "labels": "one, two words",
        "custom_fields": "{}",
        **_inlines(None),
        "comments-0-body": "First note",
    }
    with commit():
        response = client.post(reverse("admin:trackers_issue_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    issue = Issue.objects.get()
    assert (issue.key, issue.labels, issue.priority) == ("ABC-1", ["one", "two_words"], "Low")
    assert Comment.objects.get().author == root
    assert [(e.kind, e.via, e.actor_user_id) for e in events] == [
        (EventKind.CREATED, "admin", root.pk),
        (EventKind.COMMENTED, "admin", root.pk),
    ]


def test_admin_change_emits_field_changes_and_checks_the_workflow(
    admin_client_: tuple[Client, Any],
    tracker: LocalTracker,
    users: dict[str, Any],
    events: list[IssueEventData],
    commit: Any,
) -> None:
    client, root = admin_client_
    key = tracker.create_issue(
        NewIssue(
            "ABC",
            "Printer",
            email_sender_address="carol@customer.example",
            email_sender_name="Carol",
            email_participants=("dave@customer.example",),
        )
    ).key
    tracker.add_comment(key, NewComment("first", author_email="carol@customer.example"))
    issue = Issue.objects.get(key=key)
    url = reverse("admin:trackers_issue_change", args=[issue.pk])
    page = client.get(url).content.decode()
    assert "carol@customer.example" in page and "dave@customer.example" in page  # shown decrypted
    assert "From Open the workflow allows: In Progress, Waiting for Customer, Resolved, Closed" in page

    events.clear()
    with commit():
        response = client.post(
            url,
            _form(
                issue,
                priority="High",
                status="Resolved",
                assignee=str(users["bob"].pk),
                **{"comments-1-body": "Fixed it."},
            ),
        )
    assert response.status_code == 302, response.content.decode()[:3000]
    issue.refresh_from_db()
    assert (issue.status, issue.resolution, issue.assignee, issue.priority) == (
        "Resolved",
        "Done",
        users["bob"],
        "High",
    )
    assert issue.resolved_at is not None
    resolved, commented = events
    assert (resolved.kind, resolved.via, resolved.actor_user_id) == (EventKind.RESOLVED, "admin", root.pk)
    assert resolved.changed_fields == ("priority", "status", "resolution", "resolved_at", "assignee")
    assert resolved.change("assignee") == FieldChange("assignee", None, "bob")
    assert (commented.kind, commented.comment_id) == (EventKind.COMMENTED, Comment.objects.get(body="Fixed it.").pk)

    events.clear()
    with commit():
        refused = client.post(url, _form(issue, status="In Progress"))
    assert refused.status_code == 200
    assert "The workflow does not allow Resolved → In Progress; allowed: Closed, Open." in refused.content.decode()
    issue.refresh_from_db()
    assert issue.status == "Resolved" and events == []

    with commit():
        client.post(url, _form(issue, status="Open", resolution=""))
    issue.refresh_from_db()
    assert (issue.status, issue.resolution, issue.resolved_at) == ("Open", "", None)  # type: ignore[comparison-overlap]  # refresh_from_db() reset what mypy narrowed above
    assert events[-1].kind == EventKind.UPDATED and events[-1].change("status") == FieldChange(
        "status", "Resolved", "Open"
    )
    assert Issue.objects.get(pk=issue.pk).email_sender_address == "carol@customer.example"  # untouched by the form


def test_admin_actions_transition_and_delete_emit_events(
    admin_client_: tuple[Client, Any], tracker: LocalTracker, events: list[IssueEventData], commit: Any
) -> None:
    client, _root = admin_client_
    tracker.create_issue(NewIssue("ABC", "one"))
    tracker.create_issue(NewIssue("ABC", "two"))
    tracker.transition_issue("ABC-2", "Closed")
    events.clear()
    pks = [str(pk) for pk in Issue.objects.order_by("number").values_list("pk", flat=True)]
    changelist = reverse("admin:trackers_issue_changelist")
    with commit():
        response = client.post(changelist, {"action": "transition_resolve", "_selected_action": pks}, follow=True)
    page = response.content.decode()
    assert "Resolve: ABC-1." in page and "not allowed from the status of: ABC-2 (Closed)" in page
    assert [(e.kind, e.issue_key) for e in events] == [(EventKind.RESOLVED, "ABC-1")]
    with commit():
        response = client.post(changelist, {"action": "delete_selected", "_selected_action": pks, "post": "yes"})
    assert response.status_code == 302 and not Issue.objects.exists()
    assert sorted((e.kind, e.issue_key) for e in events[1:]) == [("deleted", "ABC-1"), ("deleted", "ABC-2")]


def test_admin_pages_and_attachment_download(admin_client_: tuple[Client, Any], tracker: LocalTracker) -> None:
    client, _root = admin_client_
    key = tracker.create_issue(NewIssue("ABC", "with file")).key
    (attachment,) = tracker.add_attachments(
        key, [AttachmentUpload("<b>evil</b>.html", "text/html", data=b"<script>alert(1)</script>")]
    )
    issue = Issue.objects.get(key=key)
    for name in (
        "trackers_project_changelist",
        "trackers_issue_changelist",
        "trackers_comment_changelist",
        "trackers_issue_add",
        "trackers_comment_add",
        "trackers_project_add",
    ):
        assert client.get(reverse(f"admin:{name}")).status_code == 200, name
    page = client.get(reverse("admin:trackers_issue_change", args=[issue.pk])).content.decode()
    assert "&lt;b&gt;evil&lt;/b&gt;.html" in page and "<b>evil</b>" not in page
    download = client.get(reverse("admin:trackers_issue_attachment", args=[issue.pk, attachment.id]))
    assert download.status_code == 200 and download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")
    assert isinstance(download, FileResponse)
    assert b"".join(download.streaming_content) == b"<script>alert(1)</script>"
    assert client.get(reverse("admin:trackers_issue_attachment", args=[issue.pk, 999999])).status_code == 404
    anonymous = Client().get(reverse("admin:trackers_issue_attachment", args=[issue.pk, attachment.id]))
    assert anonymous.status_code == 302  # to the login page


def test_comment_admin_adds_and_edits_with_events(
    admin_client_: tuple[Client, Any], tracker: LocalTracker, events: list[IssueEventData], commit: Any
) -> None:
    client, root = admin_client_
    key = tracker.create_issue(NewIssue("ABC", "x")).key
    issue = Issue.objects.get(key=key)
    events.clear()
    with commit():
        added = client.post(reverse("admin:trackers_comment_add"), {"issue": issue.pk, "body": "Noted"})
        assert added.status_code == 302
    comment = Comment.objects.get()
    assert comment.author == root and comment.instance_id == issue.instance_id
    with commit():
        client.post(reverse("admin:trackers_comment_change", args=[comment.pk]), {"body": "Noted, fixed."})
    assert [e.kind for e in events] == ["commented", "updated"]
    assert events[1].change("comment") == FieldChange("comment", "Noted", "Noted, fixed.")


def test_attachment_uploaded_in_the_admin_is_stored_encrypted(
    admin_client_: tuple[Client, Any], tracker: LocalTracker, events: list[IssueEventData], commit: Any, blob_root: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client, _root = admin_client_
    issue = Issue.objects.get(key=tracker.create_issue(NewIssue("ABC", "x")).key)
    events.clear()
    upload = SimpleUploadedFile("notes.txt", b"secret admin notes", content_type="text/plain")
    with commit():
        response = client.post(
            reverse("admin:trackers_issue_change", args=[issue.pk]), {**_form(issue), "add_attachment": upload}
        )
    assert response.status_code == 302
    (attachment,) = tracker.list_attachments(issue.key)
    assert (attachment.filename, attachment.size) == ("notes.txt", 18)
    assert tracker.read_attachment(issue.key, attachment.id) == b"secret admin notes"
    assert all(b"secret" not in p.read_bytes() for p in blob_root.rglob("*") if p.is_file())
    assert [(e.kind, e.attachment_ids) for e in events] == [("updated", (int(attachment.id),))]
