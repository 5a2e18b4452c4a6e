"""One e-mail address in the test cases (a data subject): the test cases whose mail, name or last report holds it
(or that were made from an inbound message that does), for the export; erasing deletes them."""

from __future__ import annotations

from collections.abc import Collection

from jemh.models import Instance
from jemh.subject import HeldItem, mentions
from profiles.models import TestCase


def test_cases_of(instance: Instance, address: str, inbound_ids: Collection[int] = ()) -> list[TestCase]:
    wanted = set(inbound_ids)
    return [
        case
        for case in TestCase.objects.filter(profile__instance=instance).order_by("pk")
        if case.inbound_id in wanted
        or mentions(case.name, address)
        or mentions(case.raw_bytes, address)
        or mentions(case.last_run_report, address)
    ]


def export_items(cases: list[TestCase]) -> list[HeldItem]:
    return [
        HeldItem(
            kind="test_case",
            id=str(case.pk),
            record={
                "name": case.name,
                "profile": case.profile_id,
                "mail": f"test-cases/{case.pk}.eml",
                "last_run_report": case.last_run_report,
            },
            files={f"test-cases/{case.pk}.eml": case.raw_bytes},
        )
        for case in cases
    ]


def erase(cases: list[TestCase]) -> int:
    return TestCase.objects.filter(pk__in=[c.pk for c in cases]).delete()[1].get("profiles.TestCase", 0)
