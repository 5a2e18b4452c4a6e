"""Outbound mail of an instance sent through its OAuth mailbox's SMTP server with AUTH XOAUTH2 (the aiosmtpd sink
checks every token at the fake OpenID provider); instances without one keep sending through EMAIL_URL."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from inbound.models import AuthMethod, Security, Source, SourceKind
from inbound.sources.oauth import connect
from jemh import oauth
from jemh.models import OAuthApp, OAuthProvider
from notifications.choices import OutboundStatus
from notifications.models import NotificationMapping
from tests.notifications.helpers import by_recipient, flush_now, send_queued
from tests.notifications.test_sending import new_issue
from tests.services.oidc import consent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]
REDIRECT = "http://jemh.test/admin/inbound/source/oauth/callback/"


def _signed_in_source(instance: Any, oidc_provider: Any, smtp: Any, email: str) -> Source:
    app = OAuthApp.objects.create(
        instance=instance,
        provider=OAuthProvider.GOOGLE,
        client_id="jemh-test",
        client_secret="s3cret",
        issuer_url=oidc_provider.issuer,
    )
    source = Source(
        instance=instance,
        name="support",
        kind=SourceKind.IMAP,
        host="127.0.0.1",
        port=9,
        security=Security.NONE,
        auth_method=AuthMethod.OAUTH2,
        oauth_provider=OAuthProvider.GOOGLE,
        send_notifications=True,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_security=Security.NONE,
    )
    source.full_clean()
    source.save()
    oidc_provider.add_user(email)
    started = oauth.start_authorization(app, REDIRECT)
    back = parse_qs(urlsplit(consent(started.url, email)).query)
    assert back["state"] == [started.state]
    connect(source, oauth.finish_authorization(app, REDIRECT, back["code"][0], started.code_verifier))
    return Source.objects.get(pk=source.pk)


def _provider_checks(oidc_provider: Any) -> Any:
    def check(user: str, token: str) -> bool:
        answer = httpx.get(f"{oidc_provider.issuer}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        return answer.status_code == 200 and answer.json().get("email") == user

    return check


def test_a_notification_goes_out_signed_in_with_xoauth2(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, oidc_provider: Any
) -> None:
    email = f"s{uuid.uuid4().hex[:10]}@example.test"
    source = _signed_in_source(tracker.instance, oidc_provider, smtp_mail, email)
    smtp_mail.oauth_check = _provider_checks(oidc_provider)
    mapping.skip_actor = False
    mapping.save()
    issue = new_issue(tracker)
    result = flush_now(tracker.instance, issue.key)
    assert len(result.outbound_ids) == 4
    assert [r.status for r in send_queued()] == [OutboundStatus.SENT] * 4
    received = smtp_mail.wait_for(4)
    assert len(by_recipient(received)) == 4
    assert {mail.authenticated_as for mail in received} == {email}
    assert source.oauth_access_token  # unchanged: it was fresh


def test_a_refused_token_is_refreshed_and_the_mail_sent(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, oidc_provider: Any
) -> None:
    email = f"s{uuid.uuid4().hex[:10]}@example.test"
    source = _signed_in_source(tracker.instance, oidc_provider, smtp_mail, email)
    Source.objects.filter(pk=source.pk).update(oauth_access_token="stale-" + uuid.uuid4().hex)
    smtp_mail.oauth_check = _provider_checks(oidc_provider)
    issue = new_issue(tracker)
    flush_now(tracker.instance, issue.key)
    statuses = [r.status for r in send_queued()]
    assert statuses and set(statuses) == {OutboundStatus.SENT}
    assert smtp_mail.oauth_attempts[:2] == [email, email]  # the stale token refused, the refreshed one taken
    assert {mail.authenticated_as for mail in smtp_mail.wait_for(len(statuses))} == {email}
    assert not Source.objects.get(pk=source.pk).oauth_access_token.startswith("stale-")


def test_without_an_oauth_mailbox_mail_goes_through_email_url(
    tracker: Any, mapping: NotificationMapping, smtp_mail: Any, oidc_provider: Any
) -> None:
    email = f"s{uuid.uuid4().hex[:10]}@example.test"
    source = _signed_in_source(tracker.instance, oidc_provider, smtp_mail, email)
    Source.objects.filter(pk=source.pk).update(send_notifications=False)
    issue = new_issue(tracker)
    flush_now(tracker.instance, issue.key)
    statuses = [r.status for r in send_queued()]
    assert statuses and set(statuses) == {OutboundStatus.SENT}
    assert {mail.authenticated_as for mail in smtp_mail.wait_for(len(statuses))} == {None}
    assert smtp_mail.oauth_attempts == []
