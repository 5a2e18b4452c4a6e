"""The Jira backend beyond the contract: lost answers never double an issue, rate limits and outages become
TemporaryTrackerError with a retry time, bad credentials a permission error, and the fake's spec checks bite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import timezone

from jemh.models import Instance, JiraDeployment, TrackerKind
from tests.trackers.jira_fake import FakeJira, running
from tests.trackers.test_jira_contract import jira_instance
from trackers import errors
from trackers.interface import AttachmentUpload, NewComment, NewIssue
from trackers.jira import tracker_for
from trackers.jira.client import CLOUD, Credentials, JiraClient
from trackers.jira.errors import JiraAuthError, JiraTemporaryError
from trackers.jira.tracker import JiraTracker
from trackers.models import RemoteIdempotencyKey
from trackers.registry import get_tracker


@pytest.fixture(params=["cloud", "datacenter"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeJira]:
    with running(request.param) as fake:
        lead = fake.state.add_user("lena", "lena@example.org", "Lena Lead")
        fake.state.add_project("ABC", "Acme", lead.account_id)
        yield fake


@pytest.fixture()
def tracker(db: None, fake: FakeJira) -> JiraTracker:
    return tracker_for(jira_instance(fake))


def test_a_create_whose_answer_is_lost_after_the_commit_makes_one_issue(tracker: JiraTracker, fake: FakeJira) -> None:
    fake.inject("createIssue", drop="after")  # Jira commits the issue, then the connection drops
    created = tracker.create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:1")
    assert [i.key for i in fake.state.issues.values()] == [created.key]
    assert fake.count("createIssue") == 1  # found by its idempotency property, not created again
    again = tracker_for(tracker.instance).create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:1")
    assert again.key == created.key and len(fake.state.issues) == 1


def test_a_create_dropped_before_the_commit_is_retried_once(tracker: JiraTracker, fake: FakeJira) -> None:
    fake.inject("createIssue", drop="before")
    with pytest.raises(errors.TemporaryTrackerError):
        tracker.create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:2")
    assert fake.state.issues == {}
    with pytest.raises(errors.TemporaryTrackerError, match="another worker"):  # the create may still land: wait
        tracker.create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:2")
    RemoteIdempotencyKey.objects.update(claimed_at=timezone.now() - timedelta(minutes=2))  # time has passed
    created = tracker.create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:2")
    assert [i.key for i in fake.state.issues.values()] == [created.key]


def test_a_429_with_a_long_retry_after_is_a_temporary_error_carrying_the_delay(
    tracker: JiraTracker, fake: FakeJira
) -> None:
    tracker.get_project("ABC")
    fake.inject("createIssue", status=429, retry_after=120)
    with pytest.raises(JiraTemporaryError) as caught:
        tracker.create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:3")
    assert isinstance(caught.value, errors.TemporaryTrackerError) and caught.value.status == 429
    assert caught.value.retry_after is not None and 120 <= caught.value.retry_after <= 150
    assert ("jira-burst-based" in str(caught.value)) == (fake.flavour == "cloud")  # Data Center names no reason
    assert fake.state.issues == {}
    created = tracker.create_issue(NewIssue("ABC", "Printer on fire"), idempotency_key="inbound:3")  # key not used up
    assert created.key == "ABC-1"


def test_a_short_retry_after_is_waited_out_in_the_call(tracker: JiraTracker, fake: FakeJira) -> None:
    fake.inject("getProject", status=429, retry_after=1)
    fake.inject("getPriorities", status=503, retry_after=0)
    assert tracker.get_project("ABC").key == "ABC"
    assert (fake.count("getProject"), fake.count("getPriorities")) == (2, 2)


def test_a_5xx_on_create_without_a_key_is_temporary(tracker: JiraTracker, fake: FakeJira) -> None:
    fake.inject("createIssue", status=500)
    with pytest.raises(JiraTemporaryError) as caught:
        tracker.create_issue(NewIssue("ABC", "Printer on fire"))
    assert caught.value.status == 500 and fake.state.issues == {}


def test_a_timed_out_read_is_tried_again(db: None, fake: FakeJira) -> None:
    credentials = (
        Credentials(CLOUD, email=FakeJira.EMAIL, api_token=FakeJira.API_TOKEN)
        if fake.flavour == "cloud"
        else Credentials("datacenter", pat=FakeJira.PAT)
    )
    instance = jira_instance(fake)
    tracker = JiraTracker(instance, JiraClient(fake.base_url, credentials, timeout=0.3))
    fake.inject("getProject", delay=0.6)
    assert tracker.get_project("ABC").key == "ABC"
    assert fake.count("getProject") == 2


def test_wrong_credentials_are_an_auth_error_that_says_what_to_do(db: None, fake: FakeJira) -> None:
    instance = jira_instance(fake)
    instance.jira_api_token = instance.jira_pat = "wrong"
    instance.save()
    with pytest.raises(JiraAuthError, match="credentials") as caught:
        tracker_for(instance).get_project("ABC")
    assert isinstance(caught.value, errors.PermissionDenied) and caught.value.status == 401


def test_a_request_that_breaks_the_spec_is_caught(tracker: JiraTracker, fake: FakeJira) -> None:
    with pytest.raises(errors.InvalidFieldValue, match="breaks the spec"):
        tracker.client.request("GET", "user/search", params={"query": "x", "maxResults": "many"})
    assert fake.violations and "findUsers" in fake.violations[0]
    fake.violations.clear()  # seen: the fixture would otherwise fail this test


def test_uploads_without_the_xsrf_header_are_refused(tracker: JiraTracker, fake: FakeJira) -> None:
    issue = tracker.create_issue(NewIssue("ABC", "Printer on fire"))
    response = tracker.client._http.post(
        f"{tracker.client.api}/issue/{issue.key}/attachments", files=[("file", ("a.txt", b"a", "text/plain"))]
    )
    assert response.status_code == 403 and "XSRF" in response.text


def test_an_oversize_comment_is_cut_and_attached_whole(tracker: JiraTracker, fake: FakeJira) -> None:
    issue = tracker.create_issue(NewIssue("ABC", "Printer on fire"))
    body = "a long line of text\n" * 2000  # 40,000 characters
    comment = tracker.add_comment(issue.key, NewComment(body, author_email="c@customer.example"))
    assert len(comment.body) < 32767 and comment.body.startswith("a long line")
    (attachment,) = tracker.list_attachments(issue.key)
    assert (attachment.filename, attachment.comment_id) == ("full-text.txt", comment.id)
    assert tracker.read_attachment(issue.key, attachment.id) == body.encode()


def test_the_registry_gives_the_jira_backend_to_a_configured_jira_instance(db: None, fake: FakeJira) -> None:
    assert isinstance(get_tracker(jira_instance(fake)), JiraTracker)
    bare = Instance.objects.create(name="bare", tracker_kind=TrackerKind.JIRA, base_url="https://x.example")
    with pytest.raises(errors.TrackerNotAvailable, match="credentials are not set"):
        get_tracker(bare)


def test_the_admin_form_never_shows_jira_secrets_and_keeps_them_when_left_empty(
    db: None, rf: RequestFactory, admin_user: Any
) -> None:
    instance = Instance.objects.create(
        name="site",
        tracker_kind=TrackerKind.JIRA,
        base_url="https://x.example",
        jira_deployment=JiraDeployment.CLOUD,
        jira_email="me@x.example",
        jira_api_token="s3cret-token",
    )
    request = rf.get("/")
    request.user = admin_user
    InstanceForm = admin.site._registry[Instance].get_form(request, instance, change=True)
    form = InstanceForm(instance=instance)
    html = str(form["jira_api_token"]) + str(form["jira_email"])
    assert "s3cret-token" not in html and "me@x.example" not in html
    assert ">set<" in str(form["jira_api_token"]) and ">not set<" in str(form["jira_pat"])
    data = {name: form.initial.get(name) or "" for name in form.fields if name != "admins"}
    data.update(name="site", tracker_kind="jira", base_url="https://x.example", jira_deployment="cloud")
    for name in ("jira_email", "jira_api_token", "jira_pat"):
        data.pop(name)  # left empty: the stored value stays
    bound = InstanceForm(data=data, instance=instance)
    assert bound.is_valid(), bound.errors
    bound.save()
    instance.refresh_from_db()
    assert (instance.jira_email, instance.jira_api_token) == ("me@x.example", "s3cret-token")


def test_warm_caches_keep_calls_to_the_issue_targets(tracker: JiraTracker, fake: FakeJira) -> None:
    """Issue 13's targets: at most 2 Jira calls per new issue, 1 per comment, +1 per message with attachments."""
    tracker.create_issue(NewIssue("ABC", "warming up", email_sender_address="c@customer.example"))
    fake.calls.clear()
    unit = tracker_for(tracker.instance)  # the next message: a new unit of work, caches warm
    issue = unit.create_issue(
        NewIssue(
            "ABC", "Printer on fire", "It *burns*.", email_sender_address="c@customer.example", message_ids=("<a@x>",)
        ),
        idempotency_key="inbound:20",
    )
    assert sum(fake.calls.values()) == 2, fake.calls
    fake.calls.clear()
    comment = unit.add_comment(
        issue.key,
        NewComment("Still burning", author_email="c@customer.example", message_ids=("<b@x>",)),
        idempotency_key="inbound:21",
    )
    assert sum(fake.calls.values()) == 1, fake.calls
    fake.calls.clear()
    upload = AttachmentUpload("log.txt", "text/plain", data=b"smoke")
    unit.add_attachments(issue.key, [upload, upload], comment_id=comment.id, idempotency_key="inbound:21")
    assert dict(fake.calls) == {"addAttachment": 1}


def test_a_429_without_retry_after_uses_the_rate_limit_reset(tracker: JiraTracker, fake: FakeJira) -> None:
    reset = (timezone.now() + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%MZ")
    fake.inject("getProject", status=429, headers={"X-RateLimit-Reset": reset})
    with pytest.raises(JiraTemporaryError) as caught:
        tracker.get_project("ABC")
    assert caught.value.retry_after is not None and 60 <= caught.value.retry_after <= 150


def test_a_cloud_user_hiding_their_address_is_not_found_by_it(tracker: JiraTracker, fake: FakeJira) -> None:
    """The sender then counts as e-mail-only (Cloud privacy setting: the address is not shown to the API)."""
    shy = fake.state.add_user("shy", "shy@example.org", "Shy Person")
    shy.hide_email = True
    assert tracker.find_user_by_email("shy@example.org") is None
    found = tracker.get_user(shy.account_id)
    assert found is not None and (found.display_name, found.email) == ("Shy Person", "")


def test_issue_urls_of_a_jira_instance_are_its_browse_urls(db: None, fake: FakeJira) -> None:
    from trackers.registry import issue_url

    instance = jira_instance(fake)
    assert issue_url(instance.pk, " abc-7 ") == f"{fake.base_url}/browse/ABC-7"


def test_a_400_names_the_custom_field_by_name_and_says_what_to_do(tracker: JiraTracker, fake: FakeJira) -> None:
    from trackers.jira.errors import JiraRefusal

    sender_field = fake.state.field_by_name("Email Sender Address")
    assert sender_field is not None
    fake.state.off_screen.add(sender_field.id)
    with pytest.raises(JiraRefusal) as caught:
        tracker.create_issue(NewIssue("ABC", "Printer on fire", email_sender_address="c@customer.example"))
    assert isinstance(caught.value, errors.InvalidFieldValue) and not caught.value.retryable
    assert caught.value.status == 400 and list(caught.value.fields) == [sender_field.id]
    assert f"field Email Sender Address ({sender_field.id}): Field '{sender_field.id}' cannot be set" in str(
        caught.value
    )
    assert "What to do: check Email Sender Address" in str(caught.value)


def test_a_cloud_address_hidden_by_privacy_has_a_lookup_note(tracker: JiraTracker, fake: FakeJira) -> None:
    shy = fake.state.add_user("shy", "shy@example.org", "Shy Person")
    shy.hide_email = True
    fake.hidden_addresses_match = True  # the search finds the user, shown without the address
    assert tracker.find_user_by_email("shy@example.org") is None
    note = tracker.user_lookup_note("shy@example.org")
    if fake.flavour == "cloud":
        assert "found an account for this address whose owner's privacy setting hides the address" in note
        assert "e-mail-only" in note
        assert tracker.find_user_by_email("nobody@example.org") is None
        assert "no Jira account shows this address" in tracker.user_lookup_note("nobody@example.org")
    else:
        assert note == ""  # Data Center has no such setting


def test_401_and_403_are_access_refusals(tracker: JiraTracker, fake: FakeJira) -> None:
    """Not retried: the pipeline pauses the instance on them (inbound.pipeline.pause)."""
    tracker.get_project("ABC")
    fake.inject("createIssue", status=403)
    with pytest.raises(errors.AccessRefused) as caught:
        tracker.create_issue(NewIssue("ABC", "Printer on fire"))
    assert isinstance(caught.value, JiraAuthError) and caught.value.status == 403 and not caught.value.retryable
