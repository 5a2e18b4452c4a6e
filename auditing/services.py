"""Services over audit records."""

from __future__ import annotations

from auditing.models import InboundMessage


def test_case_from_message(message: InboundMessage) -> tuple[bool, str]:
    """Make a profiles.TestCase from an audited message's stored raw mail. Returns (made, what happened)."""
    from jemh.storage import blob_storage
    from profiles.models import Profile, TestCase

    if not message.raw_blob:
        return False, f"inbound #{message.pk}: the raw message is not stored (purged, or the instance keeps none)"
    profile_id = message.source.profile_id if message.source_id else None
    if profile_id is None:
        enabled = list(Profile.objects.filter(instance_id=message.instance_id, enabled=True)[:2])
        if len(enabled) != 1:
            return False, f"inbound #{message.pk}: its source has no profile; make the test case by hand"
        profile_id = enabled[0].pk
    name = f"From inbound #{message.pk}: {message.subject or '(no subject)'}"
    case = TestCase(profile_id=profile_id, name=name[:200])
    case.raw_bytes = blob_storage().read_bytes(message.raw_blob)
    case.save()
    return True, f"inbound #{message.pk}: test case {case.pk} made for profile {case.profile}"
