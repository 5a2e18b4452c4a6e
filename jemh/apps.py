from django.apps import AppConfig


class JemhConfig(AppConfig):
    """Core: Instance (the tenant), encryption helpers, PII-safe logging, the `jemh` command."""

    name = "jemh"
    verbose_name = "Core"

    def ready(self) -> None:
        from jemh import tasks  # noqa: F401 - registered at start-up (see InboundConfig.ready)
