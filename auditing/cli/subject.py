"""``python manage.py jemh subject export|erase ADDRESS``: everything held about one e-mail address (privacy.md,
"Rights of the people in the mail"). ``export`` writes a zip (a JSON manifest and the stored mail); ``erase``
deletes or anonymises it all and leaves an erasure record with counts only. Progress goes to stderr."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

HELP = "Export (a zip) or erase everything held about one e-mail address."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["export", "erase"])
    parser.add_argument("address", help="the e-mail address")
    parser.add_argument("--instance", help="only this instance (by name); default: every instance")
    parser.add_argument("--output", "-o", help="export: the zip to write (default subject-export.zip)")
    parser.add_argument("--redact-texts", action="store_true", help="erase: also redact the texts the person wrote")
    parser.add_argument("--yes", action="store_true", help="erase: do not ask for confirmation")


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    from auditing import subject
    from jemh.models import Instance

    instances = Instance.objects.order_by("pk")
    if options.get("instance"):
        instances = instances.filter(name=options["instance"])
        if not instances.exists():
            err.write(f"no instance named {options['instance']!r}; see the admin's instance list\n")
            return 2

    def progress(text: str) -> None:
        err.write(text + "\n")

    try:
        address = subject.clean_address(options["address"])
    except subject.NotAnAddress as exc:
        err.write(f"{exc}\n")
        return 2
    from trackers.errors import TrackerError

    found = []
    for instance in instances:
        progress(f"{instance.name}:")
        try:
            found.append(subject.find(instance, address, progress))
        except TrackerError as exc:
            err.write(
                f"{instance.name}: the tracker could not be asked ({exc}); fix its connection, or pass --instance\n"
            )
            return 1
    if options["action"] == "export":
        target = Path(options.get("output") or "subject-export.zip")
        target.write_bytes(subject.export_zip(found))
        total = sum(sum(h.counts().values()) for h in found)
        out.write(f"wrote {target} ({total} items)\n")
        return 0
    total = sum(sum(h.counts().values()) for h in found)
    if not options.get("yes"):
        err.write(f"erase {total} items held about this address? type 'erase' to confirm: ")
        if input().strip() != "erase":
            err.write("nothing erased\n")
            return 1
    for held in found:
        record = subject.erase(held, redact_texts=bool(options.get("redact_texts")), progress=progress)
        erased = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in record.counts.items()) or "nothing"
        out.write(f"{held.instance.name}: erased {erased} (erasure record #{record.pk})\n")
    return 0
