"""Signal receivers of the read side."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from auditing.flags import discard_snapshots
from auditing.models import SupportFlag


def flag_deleted(sender: type[SupportFlag], instance: SupportFlag, **kwargs: Any) -> None:
    """A flag deleted (with its message, or its instance): its snapshots go too, once the deletion commits."""
    transaction.on_commit(lambda: discard_snapshots(instance))
