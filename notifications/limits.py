"""Outbound limits: how much mail one issue, and one instance, may send in any hour (issue 14).

Anyone can write to a catch address, and what they write can make mail from our domain: notifications to every
participant of the issue they opened, a hint, a forward. So the mail of the kinds outside activity causes
(:data:`LIMITED_KINDS`) is counted over a sliding hour, per issue (``Instance.max_mail_per_issue_per_hour``) and
per instance (``Instance.max_mail_per_hour``). A mail over a limit is never dropped: it is *held* (status
``held``, the reason in its error and the moment a slot opens in ``next_attempt_at``, as the outbound audit shows)
and sent by the sweep once the hour allows. Alerts to the instance's admins and test mail are neither held nor
counted.

The check runs where a mail is claimed for sending (:mod:`notifications.sending`), inside the claim's
transaction and under a lock on the instance's row, so that workers claiming at the same time count each other's
mail: a mail counts from its claim (``sending``) and, once sent, for the hour after its ``sent_at``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from jemh.models import Instance
from jemh.rows import update_rows
from notifications.choices import OutboundKind, OutboundStatus
from notifications.models import OutboundMessage

WINDOW = timedelta(hours=1)
LIMITED_KINDS = (OutboundKind.NOTIFICATION, OutboundKind.HINT, OutboundKind.FORWARD)


@dataclass(frozen=True)
class Hold:
    """Why a mail waits, and until when (the earliest moment the hour allows it)."""

    until: datetime
    reason: str


@dataclass
class _Scope:
    """One limit being spent: its size, the mail already counted in the window, and what this call adds."""

    limit: int
    used: int
    allowed_now: int = 0
    held: int = 0

    @property
    def full(self) -> bool:
        return self.used + self.allowed_now >= self.limit


def _counted(instance_id: int, now: datetime, lease: timedelta) -> Q:
    """The instance's limited mail that counts now: sent within the hour, or being sent (a live claim)."""
    return Q(instance_id=instance_id, kind__in=LIMITED_KINDS) & (
        Q(status=OutboundStatus.SENT, sent_at__gte=now - WINDOW)
        | Q(status=OutboundStatus.SENDING, claimed_at__gte=now - lease)
    )


def hold_over_limits(candidates: Sequence[tuple[int, int, str]], now: datetime, lease: timedelta) -> dict[int, Hold]:
    """Of ``candidates`` (claimable limited rows as ``(pk, instance_id, issue_key)``, in sending order), the ones
    an hourly limit holds back, by id; the caller marks them held (:func:`mark_held`) and claims the others.

    Call inside a transaction: the instances' rows are locked until it ends, so that concurrent claims are
    counted one after the other.
    """
    if not candidates:
        return {}
    instance_ids = sorted({instance_id for _, instance_id, _ in candidates})
    limits = {
        pk: (per_issue, per_hour)
        for pk, per_issue, per_hour in Instance.objects.select_for_update()
        .filter(pk__in=instance_ids)
        .order_by("pk")
        .values_list("pk", "max_mail_per_issue_per_hour", "max_mail_per_hour")
    }
    held: dict[int, Hold] = {}
    by_instance: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, instance_id, issue_key in candidates:
        by_instance[instance_id].append((pk, issue_key))
    for instance_id, rows in by_instance.items():
        per_issue, per_hour = limits.get(instance_id, (None, None))
        if per_issue is None and per_hour is None:
            continue
        held.update(_hold_for_instance(instance_id, rows, per_issue, per_hour, now, lease))
    return held


def _hold_for_instance(
    instance_id: int,
    rows: list[tuple[int, str]],
    per_issue: int | None,
    per_hour: int | None,
    now: datetime,
    lease: timedelta,
) -> dict[int, Hold]:
    counted = OutboundMessage.objects.filter(_counted(instance_id, now, lease))
    instance_scope = _Scope(per_hour, counted.count()) if per_hour is not None else None
    keys = sorted({key for _, key in rows if key})
    issue_scopes: dict[str, _Scope] = {}
    if per_issue is not None and keys:
        used = dict(
            counted.filter(issue_key__in=keys)
            .order_by()
            .values("issue_key")
            .annotate(n=Count("pk"))
            .values_list("issue_key", "n")
        )
        issue_scopes = {key: _Scope(per_issue, used.get(key, 0)) for key in keys}
    waiting: list[tuple[int, str, list[tuple[str, _Scope, int]]]] = []  # (pk, issue key, [(what, scope, index)])
    for pk, key in rows:
        issue_scope = issue_scopes.get(key) if key else None
        scopes = [(name, scope) for name, scope in (("issue", issue_scope), ("instance", instance_scope)) if scope]
        exhausted = [(name, scope) for name, scope in scopes if scope.full]
        if not exhausted:
            for _, scope in scopes:
                scope.allowed_now += 1
            continue
        spots = []
        for name, scope in exhausted:
            spots.append((name, scope, scope.held))
            scope.held += 1
        waiting.append((pk, key, spots))
    if not waiting:
        return {}
    return _holds(counted, waiting, instance_scope, now)


def _holds(
    counted: QuerySet[OutboundMessage],
    waiting: list[tuple[int, str, list[tuple[str, _Scope, int]]]],
    instance_scope: _Scope | None,
    now: datetime,
) -> dict[int, Hold]:
    """When each waiting mail may go: the i-th one waiting on a full scope takes the slot freed when the i-th
    oldest counted mail of that scope leaves the window (one hour later for each round beyond the scope's size)."""
    times: dict[str, list[datetime]] = {}

    def slots(name: str, key: str, scope: _Scope) -> list[datetime]:
        label = "instance" if name == "instance" else f"issue:{key}"
        if label not in times:
            rows = counted if name == "instance" else counted.filter(issue_key=key)
            sent = sorted(t or now for t in rows.values_list("sent_at", flat=True))
            times[label] = (sent + [now] * scope.allowed_now) or [now]
        return times[label]

    holds: dict[int, Hold] = {}
    for pk, key, spots in waiting:
        until, reasons = now, []
        for name, scope, index in spots:
            taken = slots(name, key, scope)
            rounds, slot = divmod(index, len(taken))
            until = max(until, taken[slot] + WINDOW * (1 + rounds))
            reasons.append(
                f"the limit of {scope.limit} mails per hour about {key}"
                if name == "issue"
                else f"the instance's limit of {scope.limit} mails per hour"
            )
        holds[pk] = Hold(
            until,
            f"held: {' and '.join(reasons)} was reached; it goes out at {until.isoformat(timespec='seconds')} "
            "at the earliest (change the limits on the instance)",
        )
    return holds


def mark_held(holds: dict[int, Hold]) -> None:
    """Record the holds on their rows: ``held``, the reason, and when the sweep may send them."""
    rows = []
    for pk, hold in holds.items():
        row = OutboundMessage(pk=pk, status=OutboundStatus.HELD, next_attempt_at=hold.until, error=hold.reason)
        row.claimed_at = None
        rows.append(row)
    update_rows(rows, ["status", "next_attempt_at", "error", "claimed_at"])
