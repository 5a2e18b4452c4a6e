"""Services of inbound mail for the other apps (the audit's read side in ``auditing`` above all): finding audited
messages, reading their stored raw mail and the export of the profile that processed them, making a test case from
one, and processing failed ones again. Other apps call these functions rather
than write inbound's models."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet

from inbound.mime import Address, parse
from inbound.models import InboundMessage, InboundStatus
from inbound.pipeline.service import process_inbound
from inbound.pipeline.tasks import GROUP_SIZE, process_messages
from inbound.summary import header_block
from jemh.crypto import keyed_hash_candidates
from jemh.models import Instance
from jemh.storage import blob_storage, discard_blobs
from profiles.services import NoProfile, create_test_case, processing_profile_id, profile_export

log = logging.getLogger(__name__)

# An issue key as trackers write it (Jira's and the local tracker's): a project key, a dash, a number.
ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-[0-9]+")


def search_messages(messages: QuerySet[InboundMessage], term: str) -> QuerySet[InboundMessage]:
    """The messages of ``messages`` that ``term`` names: an audit id (digits), else a sender's address, a
    Message-ID (with or without angle brackets) or the key of the issue a message created or commented on, exactly.
    Addresses and Message-IDs are stored encrypted, so they are found by their keyed hashes (every candidate: rows
    hashed before JEMH_INDEX_KEY too); issue keys are plain text. A blank term names them all.

    Each search is one condition an index serves in the audit's order (no OR of several): an issue key has no "@";
    a term with one is a Message-ID when a message has it (a one-row probe), else an address."""
    term = term.strip()
    if not term:
        return messages
    if term.isdigit():
        return messages.filter(pk=int(term))
    if ISSUE_KEY.fullmatch(term):
        return messages.filter(issue_key=term.upper())
    by_sender = _by_hash(messages, "sender_hash", keyed_hash_candidates(term, purpose="address"))
    by_message_id = _by_hash(messages, "message_id_hash", keyed_hash_candidates(term.strip("<>"), purpose="message-id"))
    if "@" not in term:
        return by_sender | by_message_id
    return by_message_id if by_message_id.exists() else by_sender


def _by_hash(messages: QuerySet[InboundMessage], field: str, candidates: list[str]) -> QuerySet[InboundMessage]:
    """The messages whose ``field`` is one of the candidate hashes. Usually only one candidate has rows (the others
    are hashes under retired keys): found by one-row probes, it is filtered on alone, which lets the index on
    ``field`` and the audit's order serve the page (an IN list of several makes PostgreSQL sort every match)."""
    present = [hashed for hashed in candidates if messages.filter(**{field: hashed}).exists()]
    if len(present) == 1:
        return messages.filter(**{field: present[0]})
    return messages.filter(**{f"{field}__in": present or candidates})


@dataclass(frozen=True)
class HeaderSummary:
    """The headers an admin reads first about one message. From, To, Cc and Message-ID come from the audit row's
    (decrypted) fields; the sender's name, Date and In-Reply-To from the stored raw mail's header section, when it
    is still kept (``from_raw`` says whether it was)."""

    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    message_id: str
    date: str = ""
    in_reply_to: str = ""
    from_raw: bool = False


def _shown(address: Address) -> str:
    return f"{address.name} <{address.email}>" if address.name else address.email


def header_summary(message: InboundMessage) -> HeaderSummary:
    """The header summary of ``message`` (see HeaderSummary); reads only the raw mail's header section."""
    recipients = message.recipients if isinstance(message.recipients, dict) else {}
    summary = HeaderSummary(
        sender=message.sender,
        to=tuple(recipients.get("To") or ()),
        cc=tuple(recipients.get("Cc") or ()),
        message_id=f"<{message.message_id}>" if message.message_id else "",
    )
    if not message.raw_blob:
        return summary
    try:
        raw = blob_storage().read_bytes(message.raw_blob)
    except OSError:  # purged meanwhile: the row's fields are all there is
        return summary
    parsed = parse(header_block(raw))
    return HeaderSummary(
        sender=_shown(parsed.from_) if parsed.from_ is not None else summary.sender,
        to=tuple(_shown(a) for a in parsed.to) or summary.to,
        cc=tuple(_shown(a) for a in parsed.cc) or summary.cc,
        message_id=summary.message_id or (f"<{parsed.message_id}>" if parsed.message_id else ""),
        date=parsed.date.isoformat(sep=" ") if parsed.date is not None else "",
        in_reply_to=f"<{parsed.in_reply_to}>" if parsed.in_reply_to else "",
        from_raw=True,
    )


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
    # the name is stored in clear (it orders and labels the list): no subject, no address, only what is ours
    name = f"From inbound #{message.pk} ({message.received_at:%Y-%m-%d %H:%M} UTC, {message.outcome or message.status})"
    case = create_test_case(profile_id, name, blob_storage().read_bytes(message.raw_blob), inbound_id=message.pk)
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


@dataclass(frozen=True)
class DeletedMessage:
    """What is left to say about an inbound message once deleted: nothing personal (its Message-ID only hashed)."""

    inbound_id: int
    instance_id: int
    message_id_hash: str
    received_at: datetime | None
    raw_mail_deleted: bool


def delete_message(message: InboundMessage) -> DeletedMessage:
    """Delete ``message``'s audit row and its stored raw mail (the receipts of its source stay, unlinked, so the
    mail is not captured again from a mailbox that still holds it). Returns what the caller may record of it."""
    gone = DeletedMessage(
        inbound_id=message.pk,
        instance_id=message.instance_id,
        message_id_hash=message.message_id_hash,
        received_at=message.received_at,
        raw_mail_deleted=bool(message.raw_blob),
    )
    with transaction.atomic():
        InboundMessage.objects.filter(pk=message.pk).delete()
        transaction.on_commit(lambda: discard_blobs([message.raw_blob], "raw mail of a deleted inbound message"))
    return gone


def raw_mail(message: InboundMessage) -> bytes | None:
    """The stored raw mail of ``message`` (decrypted), or None when it is not kept (the instance keeps none, or
    retention purged it)."""
    if not message.raw_blob:
        return None
    try:
        return blob_storage().read_bytes(message.raw_blob)
    except OSError:  # purged meanwhile
        return None


def processing_profile_export(message: InboundMessage) -> tuple[str, str] | None:
    """(name, JSON export) of the profile that processed ``message``: the one its report names (the profile used,
    whatever its source says now), else its source's, else the instance's only enabled profile; None when none
    of them exists any more. The export holds configuration only, never a secret."""
    named = message.report.get("profile") if isinstance(message.report, dict) else None
    if isinstance(named, str) and named:
        found = profile_export(message.instance_id, name=named)
        if found is not None:
            return found
    source_profile_id = message.source.profile_id if message.source is not None else None
    try:
        profile_id = processing_profile_id(message.instance_id, source_profile_id)
    except NoProfile:
        return None
    return profile_export(message.instance_id, profile_id=profile_id)


def resume_processing(instance: Instance) -> int:
    """Resume an instance's paused processing (``inbound.pipeline.pause``): clear the flag and queue the mail that
    waited, oldest first. Returns how many messages were queued (with the broker away, the sweep queues them)."""
    Instance.objects.filter(pk=instance.pk).update(
        processing_paused=False, processing_paused_at=None, processing_paused_reason=""
    )
    instance.processing_paused, instance.processing_paused_at, instance.processing_paused_reason = False, None, ""
    ids = list(
        InboundMessage.objects.filter(instance=instance, status__in=[InboundStatus.RECEIVED, InboundStatus.FAILED])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    try:
        for start in range(0, len(ids), GROUP_SIZE):
            process_messages.delay(ids[start : start + GROUP_SIZE])
    except Exception:
        log.warning("could not queue the waiting mail of instance %s; the sweep will", instance.pk)
    return len(ids)
