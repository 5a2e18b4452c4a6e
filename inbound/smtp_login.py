"""The instance's OAuth mailbox as its outbound SMTP login (registered with ``notifications.smtp_oauth``): the
first enabled OAuth source of the instance marked "send notifications" sends the instance's mail, with the
same OAuth connection it reads with."""

from __future__ import annotations

from inbound.models import Source
from inbound.sources.oauth import access_token
from notifications.smtp_oauth import OAuthSmtpLogin


def sending_source(instance_id: int) -> Source | None:
    return (
        Source.objects.select_related("instance")
        .filter(instance_id=instance_id, send_notifications=True, enabled=True)
        .order_by("pk")
        .first()
    )


def login_for_instance(instance_id: int) -> OAuthSmtpLogin | None:
    source = sending_source(instance_id)
    if source is None or not source.uses_oauth:
        return None
    source_id = source.pk

    def token(refresh: bool) -> str:
        return access_token(Source.objects.select_related("instance").get(pk=source_id), force_refresh=refresh)

    return OAuthSmtpLogin(
        host=source.effective_smtp_host,
        port=source.effective_smtp_port,
        security=source.smtp_security,
        username=source.login_name,
        mechanism=source.sasl_mechanism,
        token=token,
    )
