"""What bench/inbound.py reads back after a run: outcomes and latencies from the audit rows, the generator's ground
truth checked against the tracker (thread splits, doubles, unexpected outcomes), and the stage times the
processes wrote (jemh/stages.py)."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import percentile

FINAL = ("processed", "error")
EXPECTED = {"request": "created", "reply": "commented", "auto-reply": "dropped", "bounce": "dropped", "list": "dropped"}


def results(poll_started: float) -> dict[str, Any]:
    """Outcome counts, latencies, messages without an outcome, and messages that made more than one issue or
    comment (or both an issue and a comment)."""
    from django.db.models import Count, Max

    from inbound.models import InboundMessage
    from trackers.models import Comment, Issue

    messages = InboundMessage.objects.all()
    outcomes = Counter(dict(messages.values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")))
    statuses = Counter(dict(messages.values_list("status").annotate(n=Count("id")).values_list("status", "n")))
    latencies = [
        (done - created).total_seconds()
        for created, done in messages.filter(processed_at__isnull=False).values_list("created_at", "processed_at")
    ]
    last = messages.aggregate(last=Max("processed_at"))["last"]
    elapsed = last.timestamp() - poll_started if last else float("nan")
    problems: Counter[str] = Counter()
    for row in messages.filter(outcome__in=["error", "failed"]).only("report"):
        report = row.report if isinstance(row.report, dict) else {}
        problems[str(report.get("error") or report.get("reason") or "(no reason)")[:200]] += 1
    issue_sources = Counter(
        Issue.objects.filter(source_message_id__isnull=False).values_list("source_message_id", flat=True)
    )
    comment_sources = Counter(
        Comment.objects.filter(source_message_id__isnull=False).values_list("source_message_id", flat=True)
    )
    both = set(issue_sources) & set(comment_sources)
    captured = messages.count()
    return {
        "captured": captured,
        "elapsed_s": round(elapsed, 2),
        "messages_per_second": round(captured / elapsed, 1) if elapsed else 0.0,
        "capture_to_outcome_p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "capture_to_outcome_p95_s": round(percentile(latencies, 95), 3) if latencies else None,
        "outcomes": dict(outcomes),
        "statuses": dict(statuses),
        "without_outcome": captured - sum(statuses.get(s, 0) for s in FINAL),
        "issues": Issue.objects.count(),
        "comments": Comment.objects.count(),
        "messages_with_more_than_one_issue": sum(1 for n in issue_sources.values() if n > 1),
        "messages_with_more_than_one_comment": sum(1 for n in comment_sources.values() if n > 1),
        "messages_with_an_issue_and_a_comment": len(both),
        "doubles": sum(1 for n in issue_sources.values() if n > 1)
        + sum(1 for n in comment_sources.values() if n > 1)
        + len(both),
        "error_reasons": dict(problems.most_common(10)),
    }


def against_truth(truth: Sequence[dict[str, Any]], poll_size: int) -> dict[str, Any]:
    """Each generated message's outcome against what it should be. A thread split is a reply that became a new
    issue instead of a comment on its request's issue; a misthreaded reply commented on another issue."""
    from inbound.models import InboundMessage
    from trackers.models import Comment, Issue

    row_of = {
        mid.strip("<>"): (pk, outcome)
        for pk, mid, outcome in InboundMessage.objects.values_list("pk", "message_id", "outcome")
    }
    issue_of_row = dict(Issue.objects.filter(source_message_id__isnull=False).values_list("source_message_id", "pk"))
    comment_issue_of_row = dict(
        Comment.objects.filter(source_message_id__isnull=False).values_list("source_message_id", "issue_id")
    )
    by_position = {int(t["position"]): t for t in truth}
    unexpected: Counter[str] = Counter()
    splits = misthreaded = after_split = orphaned = missing = 0
    split_positions: set[int] = set()
    split_same_poll = split_same_chunk = 0
    replies_same_poll = replies_same_chunk = 0
    for t in truth:
        kind, position = str(t["kind"]), int(t["position"])
        found = row_of.get(str(t["message_id"]))
        if found is None:
            missing += 1
            continue
        pk, outcome = found
        if outcome != EXPECTED[kind]:
            unexpected[f"{kind} -> {outcome or '(none)'}"] += 1
        if kind != "reply":
            continue
        request = by_position[int(t["request_position"])]
        same_poll = position // poll_size == int(request["position"]) // poll_size
        same_chunk = position - int(request["position"]) < 25
        replies_same_poll += same_poll
        replies_same_chunk += same_chunk
        request_row = row_of.get(str(request["message_id"]))
        request_issue = issue_of_row.get(request_row[0]) if request_row else None
        if pk in issue_of_row:
            splits += 1
            split_positions.add(position)
            split_same_poll += same_poll
            split_same_chunk += same_chunk
        elif pk in comment_issue_of_row:
            if request_issue is None:
                orphaned += 1
            elif comment_issue_of_row[pk] != request_issue:
                misthreaded += 1
                after_split += _follows_a_split(t, by_position, split_positions)
    replies = sum(1 for t in truth if t["kind"] == "reply")
    return {
        "generated": len(truth),
        "kinds": dict(Counter(str(t["kind"]) for t in truth)),
        "not_captured": missing,
        "thread_splits": splits,
        "thread_splits_same_poll": split_same_poll,
        "thread_splits_within_25": split_same_chunk,
        "misthreaded_replies": misthreaded,
        "misthreaded_replies_answering_a_split_reply": after_split,
        "replies_whose_request_made_no_issue": orphaned,
        "replies": replies,
        "replies_in_the_same_poll_as_their_request": replies_same_poll,
        "replies_within_25_messages_of_their_request": replies_same_chunk,
        "unexpected_outcomes": dict(unexpected.most_common()),
    }


def _follows_a_split(reply: dict[str, Any], by_position: dict[int, dict[str, Any]], splits: set[int]) -> bool:
    """Whether a reply answers (directly or through earlier replies) a reply that split from its thread: its
    In-Reply-To then names that split issue, so its comment lands there."""
    parent = int(reply["parent_position"])
    while parent in by_position and by_position[parent]["kind"] == "reply":
        if parent in splits:
            return True
        parent = int(by_position[parent]["parent_position"])
    return False


WORKER_STAGES = ("parse", "pipeline", "tracker writes")


def stage_times(folder: Path, pool: Sequence[int], capture_pid: int) -> dict[str, dict[str, float]]:
    """Stage totals (CPU and wall seconds, calls) summed over the pool processes, and the capture process's."""
    summed: dict[str, dict[str, float]] = {}
    for path in sorted(folder.glob("stages-*.json")):
        data = json.loads(path.read_text())
        pid = int(data["pid"])
        if pid != capture_pid and pid not in pool:
            continue
        for name, values in data["stages"].items():
            total = summed.setdefault(name, {"cpu_s": 0.0, "wall_s": 0.0, "calls": 0})
            for key in total:
                total[key] += values[key]
    return summed


def per_message(
    stages: dict[str, dict[str, float]], messages: int, worker_cpu: float, capture_cpu: float
) -> dict[str, dict[str, float]]:
    """ms per message by stage (CPU and wall), with what the stages leave out of each process's CPU."""
    n = max(1, messages)
    out = {
        name: {
            "cpu_ms": round(1000 * v["cpu_s"] / n, 3),
            "wall_ms": round(1000 * v["wall_s"] / n, 3),
            "calls": v["calls"],
        }
        for name, v in stages.items()
    }
    worker_timed = sum(stages.get(name, {}).get("cpu_s", 0.0) for name in WORKER_STAGES)
    out["worker other (claim, load, blob read, outcome writes, Celery)"] = {
        "cpu_ms": round(1000 * (worker_cpu - worker_timed) / n, 3)
    }
    out["capture process other (IMAP fetch, polls, start-up)"] = {
        "cpu_ms": round(1000 * (capture_cpu - stages.get("capture", {}).get("cpu_s", 0.0)) / n, 3)
    }
    return out
