from django.apps import AppConfig


class JemhConfig(AppConfig):
    """Core: Instance (the tenant), encryption helpers, PII-safe logging, the `jemh` command."""

    name = "jemh"
    verbose_name = "Core"

    def ready(self) -> None:
        # Imported at start-up so every process registers the same tasks (see InboundConfig.ready); not at the
        # top, as the tasks import models, which cannot be imported before the app registry is ready.
        from jemh import tasks  # noqa: F401
