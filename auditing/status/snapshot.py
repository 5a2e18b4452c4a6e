"""The state of the installation at a glance: what the admin's status dashboard, its JSON twin and ``/metrics`` show.

Every number is read from the database when asked for (so any web process answers for all workers), each part by a
query of its own, bounded: the outcome charts count the last 7 days by hour or day; the rest are small tables
(sources, periodic tasks, the last purge of each instance) or aggregates over indexed columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from auditing.models import PurgeRun
from inbound import health as source_health
from inbound.heartbeat import staleness
from inbound.models import HeartbeatRole, InboundMessage, Source, WorkerHeartbeat
from inbound.pipeline.backlog import backlog
from inbound.tasks import poll_tasks_of
from jemh.logging import redact
from jemh.tenancy import InstanceIds
from notifications.models import OutboundMessage

#: the outcomes in the order the charts stack them (and their colours)
OUTCOMES = ("created", "commented", "forwarded", "filtered", "rejected", "dropped", "failed", "error")
OUTBOUND_STATES = ("queued", "sending", "retrying", "held", "failed")

# What each part of the dashboard needs the viewer to be allowed to see.
PERMISSIONS = {
    "sources": "inbound.view_source",
    "backlog": "inbound.view_inboundmessage",
    "outcomes": "inbound.view_inboundmessage",
    "outbound": "notifications.view_outboundmessage",
    "beat_tasks": "django_celery_beat.view_periodictask",
    "purges": "auditing.view_purgerun",
    "heartbeats": "inbound.view_source",
    "key_warnings": "jemh.view_instance",
}
PARTS = tuple(PERMISSIONS)


@dataclass(frozen=True)
class SourceState:
    """One mail source's health: its last success and error, and when it is polled next."""

    id: int
    name: str
    instance: str
    kind: str
    enabled: bool
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str
    consecutive_failures: int
    next_poll_at: datetime | None


@dataclass(frozen=True)
class OutcomeSeries:
    """Outcomes counted per period (an hour or a day), oldest first: ``counts[i][outcome]``."""

    period: str
    starts: list[datetime]
    counts: list[dict[str, int]]

    def totals(self) -> dict[str, int]:
        return {outcome: sum(bucket.get(outcome, 0) for bucket in self.counts) for outcome in OUTCOMES}


@dataclass(frozen=True)
class BeatTask:
    name: str
    task: str
    enabled: bool
    last_run_at: datetime | None


@dataclass(frozen=True)
class Purge:
    instance: str
    started_at: datetime
    finished_at: datetime
    counts: dict[str, Any]


@dataclass(frozen=True)
class RoleBeat:
    role: str
    last_beat_at: datetime | None
    alive: bool


@dataclass
class Status:
    """The parts of the dashboard this viewer may see (the others are None)."""

    generated_at: datetime
    sources: list[SourceState] | None = None
    backlog: dict[str, Any] | None = None
    outcomes: dict[str, OutcomeSeries] | None = None
    outbound: dict[str, int] | None = None
    beat_tasks: list[BeatTask] | None = None
    purges: list[Purge] | None = None
    heartbeats: list[RoleBeat] | None = None
    key_warnings: list[str] | None = None
    parts: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("parts")
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _of(queryset: QuerySet[Any], path: str, instance_ids: InstanceIds | None) -> QuerySet[Any]:
    """``queryset`` cut to the given instances (``path``: the lookup to a row's instance id); all for None."""
    return queryset if instance_ids is None else queryset.filter(**{f"{path}__in": instance_ids})


def sources(instance_ids: InstanceIds | None = None) -> list[SourceState]:
    rows = _of(Source.objects.select_related("instance"), "instance_id", instance_ids).order_by(
        "instance__name", "name"
    )
    return [
        SourceState(
            id=s.pk,
            name=s.name,
            instance=s.instance.name,
            kind=s.kind,
            enabled=s.enabled,
            last_success_at=s.last_success_at,
            last_error_at=s.last_error_at,
            last_error=redact(s.last_error or ""),  # a server's answer may quote an address
            consecutive_failures=s.consecutive_failures,
            next_poll_at=source_health.next_poll(s),
        )
        for s in rows
    ]


def backlog_now(now: datetime, instance_ids: InstanceIds | None = None) -> dict[str, Any]:
    found = backlog(now, instance_ids)
    return {
        "count": found.count,
        "oldest_received_at": found.oldest_received_at,
        "oldest_age_seconds": found.oldest_age_seconds,
    }


def outcomes(now: datetime, period: str, instance_ids: InstanceIds | None = None) -> OutcomeSeries:
    """Outcomes of the messages processed in the last 24 hours by hour (``hour``) or 7 days by day (``day``)."""
    trunc: type[TruncHour | TruncDay]
    if period == "hour":
        step, n, trunc = timedelta(hours=1), 24, TruncHour
        first = now.replace(minute=0, second=0, microsecond=0) - step * (n - 1)
    else:
        step, n, trunc = timedelta(days=1), 7, TruncDay
        local = timezone.localtime(now)
        first = local.replace(hour=0, minute=0, second=0, microsecond=0) - step * (n - 1)
    rows = (
        _of(InboundMessage.objects.all(), "instance_id", instance_ids)
        .filter(processed_at__gte=first, processed_at__lte=now)
        .exclude(outcome="")
        .annotate(bucket=trunc("processed_at"))
        .values("bucket", "outcome")
        .order_by()
        .annotate(n=Count("pk"))
    )
    starts = [first + step * i for i in range(n)]
    counts: list[dict[str, int]] = [{} for _ in starts]
    for row in rows:
        index = int((row["bucket"] - first) / step)
        if 0 <= index < n:
            counts[index][row["outcome"]] = counts[index].get(row["outcome"], 0) + row["n"]
    return OutcomeSeries(period=period, starts=starts, counts=counts)


def outbound_states(instance_ids: InstanceIds | None = None) -> dict[str, int]:
    found = dict(
        _of(OutboundMessage.objects.all(), "instance_id", instance_ids)
        .filter(status__in=OUTBOUND_STATES)
        .values_list("status")
        .order_by()
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return {state: found.get(state, 0) for state in OUTBOUND_STATES}


def beat_tasks(instance_ids: InstanceIds | None = None) -> list[BeatTask]:
    tasks = PeriodicTask.objects.exclude(task="celery.backend_cleanup")
    if instance_ids is not None:  # another instance's poll task names its source
        tasks = poll_tasks_of(tasks, instance_ids)
    return [
        BeatTask(name=t.name, task=t.task, enabled=t.enabled, last_run_at=t.last_run_at) for t in tasks.order_by("name")
    ]


def purges(instance_ids: InstanceIds | None = None) -> list[Purge]:
    """The last purge run of each instance."""
    latest = (
        _of(PurgeRun.objects.all(), "instance_id", instance_ids)
        .values("instance")
        .order_by()
        .annotate(last=Max("pk"))
        .values_list("last", flat=True)
    )
    runs = PurgeRun.objects.filter(pk__in=list(latest)).select_related("instance").order_by("instance__name")
    return [Purge(r.instance.name, r.started_at, r.finished_at, dict(r.counts)) for r in runs]


def heartbeats(now: datetime) -> list[RoleBeat]:
    last = dict(
        WorkerHeartbeat.objects.values_list("role").order_by().annotate(last=Max("beat_at")).values_list("role", "last")
    )
    return [
        RoleBeat(role, last.get(role), last.get(role) is not None and now - last[role] <= staleness(role))
        for role in HeartbeatRole.values
    ]


def key_warnings() -> list[str]:
    generated: dict[str, tuple[str, str]] = getattr(settings, "JEMH_GENERATED_KEYS", {})
    return [
        f"The {what} was generated on this machine ({path}), not set with {variable}: back it up, and set "
        f"{variable} before you rely on this installation."
        for variable, (what, path) in generated.items()
    ]


def snapshot(
    allowed: set[str] | None = None, now: datetime | None = None, instance_ids: InstanceIds | None = None
) -> Status:
    """The parts in ``allowed`` (every part when None), of the instances ``instance_ids`` (all when None)."""
    now = now or timezone.now()
    parts = [p for p in PARTS if allowed is None or p in allowed]
    status = Status(generated_at=now, parts=parts)
    if "sources" in parts:
        status.sources = sources(instance_ids)
    if "backlog" in parts:
        status.backlog = backlog_now(now, instance_ids)
    if "outcomes" in parts:
        status.outcomes = {"24h": outcomes(now, "hour", instance_ids), "7d": outcomes(now, "day", instance_ids)}
    if "outbound" in parts:
        status.outbound = outbound_states(instance_ids)
    if "beat_tasks" in parts:
        status.beat_tasks = beat_tasks(instance_ids)
    if "purges" in parts:
        status.purges = purges(instance_ids)
    if "heartbeats" in parts:
        status.heartbeats = heartbeats(now)
    if "key_warnings" in parts:
        status.key_warnings = key_warnings()
    return status


def allowed_parts(user: Any) -> set[str]:
    """The parts of the dashboard a user may see: staff, and the view permission of each part's model."""
    if not (user.is_active and user.is_staff):
        return set()
    return {part for part, permission in PERMISSIONS.items() if user.has_perm(permission)}
