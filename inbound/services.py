"""Services of inbound mail for the other apps (the audit's read side in ``auditing`` above all): finding audited
messages, making a test case from one, and processing failed ones again. Other apps call these functions rather
than write inbound's models."""

from __future__ import annotations

from django.db.models import QuerySet

from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline.service import process_inbound
from jemh.crypto import keyed_hash_candidates
from jemh.storage import blob_storage
from profiles.services import NoProfile, create_test_case, processing_profile_id


def search_messages(messages: QuerySet[InboundMessage], term: str) -> QuerySet[InboundMessage]:
    """The messages of ``messages`` that ``term`` names: an audit id (digits), else a sender's address or a
    Message-ID (with or without angle brackets), exactly. Addresses and Message-IDs are stored encrypted, so they
    are found by their keyed hashes (every candidate: rows hashed before JEMH_INDEX_KEY too); a blank term names
    them all."""
    term = term.strip()
    if not term:
        return messages
    if term.isdigit():
        return messages.filter(pk=int(term))
    by_sender = messages.filter(sender_hash__in=keyed_hash_candidates(term, purpose="address"))
    by_message_id = messages.filter(message_id_hash__in=keyed_hash_candidates(term.strip("<>"), purpose="message-id"))
    return by_sender | by_message_id


def make_test_case(message: InboundMessage) -> tuple[bool, str]:
    """Make a test case of the stored raw mail of ``message``, for the profile it is processed with (its source's,
    else the instance's only enabled profile). Returns (made, what happened, to tell the admin)."""
    if not message.raw_blob:
        return False, f"inbound #{message.pk}: the raw message is not stored (purged, or the instance keeps none)"
    source_profile_id = message.source.profile_id if message.source is not None else None
    try:
        profile_id = processing_profile_id(message.instance_id, source_profile_id)
    except NoProfile:
        return False, f"inbound #{message.pk}: its source has no profile; make the test case by hand"
    name = f"From inbound #{message.pk}: {message.subject or '(no subject)'}"
    case = create_test_case(profile_id, name, blob_storage().read_bytes(message.raw_blob))
    return True, f"inbound #{message.pk}: test case {case.pk} made for profile {case.profile}"


def process_again(messages: QuerySet[InboundMessage]) -> int:
    """Process again, now and one by one, the failed or errored messages of ``messages`` (the others are left as
    they are; processing is idempotent). Returns how many were processed."""
    retried = 0
    for message in messages.filter(status__in=[InboundStatus.FAILED, InboundStatus.ERROR]):
        InboundMessage.objects.filter(pk=message.pk).update(status=InboundStatus.RECEIVED)
        process_inbound(message.pk)
        retried += 1
    return retried
