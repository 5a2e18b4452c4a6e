"""Connects captured mail to processing: each newly captured message is queued once its capture commits."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from inbound.signals import message_captured


@receiver(message_captured, dispatch_uid="inbound.pipeline.queue_captured")
def queue_captured(sender: Any, message: Any, **kwargs: Any) -> None:
    from django.conf import settings

    from inbound.pipeline.tasks import process_message

    if getattr(settings, "JEMH_PROCESS_INLINE", False):
        from inbound.pipeline.service import process_inbound

        process_inbound(message.pk)
        return
    try:
        process_message.delay(message.pk)
    except Exception:  # broker down: the resume_processing sweep queues it later; nothing is lost
        import logging

        logging.getLogger(__name__).warning("could not queue inbound #%s; the sweep will retry", message.pk)
