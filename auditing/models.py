"""Records the read side keeps about its own work (no mail content, no personal data)."""

from __future__ import annotations

from django.db import models


class PurgeRun(models.Model):
    """One run of the retention purge for one instance: when, and how many things of each kind it removed."""

    instance = models.ForeignKey("jemh.Instance", on_delete=models.CASCADE, related_name="purge_runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    counts = models.JSONField(default=dict, help_text="What was removed, by kind (counts only).")

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["instance", "-started_at"], name="auditing_purge_latest")]

    def __str__(self) -> str:
        return f"purge of {self.started_at:%Y-%m-%d %H:%M}"
