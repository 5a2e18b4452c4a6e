"""``jemh deliver --source NAME < message``: MTA pipe delivery (an alias or transport runs it per message).

Exit codes follow sysexits.h, which MTAs understand: 0 captured (or already captured), 75 (EX_TEMPFAIL)
when the message could not be stored or recorded right now, so the MTA keeps it and retries; 78
(EX_CONFIG) for a source that does not exist or is not a pipe source, 66 (EX_NOINPUT) for empty input:
those are permanent, and the MTA bounces the message with the reason printed on stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, BinaryIO, TextIO

from inbound.capture import StoreError
from inbound.models import Source, SourceKind
from inbound.sources.pipe import EmptyMessage, deliver

HELP = "capture one message from standard input for a pipe source (for an MTA alias or transport)"

EX_OK = 0
EX_NOINPUT = 66
EX_TEMPFAIL = 75
EX_CONFIG = 78


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", required=True, help="name of the pipe source (see Inbound mail > Sources)")
    parser.add_argument("--instance", help="instance name, needed when several instances have a source of that name")


def run(options: dict[str, Any], out: TextIO, err: TextIO, stream: BinaryIO | None = None) -> int:
    stream = stream if stream is not None else sys.stdin.buffer
    try:
        source, problem = _find_source(options["source"], options.get("instance"))
    except Exception as exc:  # database unreachable: keep the mail at the MTA
        err.write(
            f"jemh deliver: temporary failure, the database is unreachable ({exc.__class__.__name__}: "
            f"{exc}); the MTA will retry\n"
        )
        return EX_TEMPFAIL
    if source is None:
        err.write(f"jemh deliver: {problem}\n")
        return EX_CONFIG
    if not source.enabled:
        err.write(
            f"jemh deliver: source {source.name!r} is disabled; the MTA will retry until it is enabled "
            "again (Inbound mail > Sources in the admin)\n"
        )
        return EX_TEMPFAIL
    try:
        result = deliver(source, stream)
    except EmptyMessage as exc:
        err.write(f"jemh deliver: {exc}; pipe one RFC 5322 message into this command\n")
        return EX_NOINPUT
    except StoreError as exc:
        err.write(f"jemh deliver: temporary failure, {exc}; the MTA will retry\n")
        return EX_TEMPFAIL
    except Exception as exc:  # database or anything unforeseen: the mail stays with the MTA
        err.write(f"jemh deliver: temporary failure ({exc.__class__.__name__}: {exc}); the MTA will retry\n")
        return EX_TEMPFAIL
    message = result.message
    if result.new and message is not None:
        note = " (rejected: too large)" if message.outcome == "rejected" else ""
        out.write(f"captured as inbound message #{message.pk}{note}\n")
    else:
        out.write(f"already captured{f' as inbound message #{message.pk}' if message else ''}; nothing to do\n")
    return EX_OK


def _find_source(name: str, instance_name: str | None) -> tuple[Any, str]:
    candidates = Source.objects.select_related("instance").filter(name=name)
    if instance_name:
        candidates = candidates.filter(instance__name=instance_name)
    found = list(candidates[:2])
    where = f" in instance {instance_name!r}" if instance_name else ""
    if not found:
        return None, (
            f"no mail source named {name!r}{where}; create a source of kind 'MTA pipe' with that name "
            "in the admin, or fix the name in the MTA's alias"
        )
    if len(found) > 1:
        return None, f"several instances have a source named {name!r}; add --instance NAME"
    source = found[0]
    if source.kind != SourceKind.PIPE:
        return None, (
            f"source {name!r} is a {source.get_kind_display()} source, not an MTA pipe source; "
            "change its kind in the admin or name a pipe source"
        )
    return source, ""
