"""Optional error reporting to Sentry (``SENTRY_DSN``), without the mail: no default PII, no local variables (they
hold mail), no request bodies, and every exception text, log message and breadcrumb redacted as logs are."""

from __future__ import annotations

from typing import Any

from jemh import config


def _redacted(value: Any) -> Any:
    from jemh.logging import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    return value


def _redact_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    from jemh.logging import redact

    if "extra" in event:  # sys.argv, extra= of log calls
        event["extra"] = _redacted(event["extra"])
    for value in (event.get("exception") or {}).get("values") or []:
        if isinstance(value.get("value"), str):
            value["value"] = redact(value["value"])
    entry = event.get("logentry") or {}
    for key in ("message", "formatted"):
        if isinstance(entry.get(key), str):
            entry[key] = redact(entry[key])
    if "params" in entry:
        entry["params"] = []
    if isinstance(event.get("message"), str):
        event["message"] = redact(event["message"])
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        if isinstance(crumb.get("message"), str):
            crumb["message"] = redact(crumb["message"])
    request = event.get("request") or {}
    request.pop("data", None)
    if isinstance(request.get("query_string"), str):
        request["query_string"] = redact(request["query_string"])
    return event


def init_sentry(dsn: str, environment: str) -> None:
    """Start the Sentry SDK (Django and Celery integrations) when ``SENTRY_DSN`` is set."""
    try:
        import sentry_sdk
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.django import DjangoIntegration
    except ImportError as exc:
        raise config.fail(
            "SENTRY_DSN",
            "is set but the Sentry SDK is not installed",
            "pip install 'jemh-mailhandler[sentry]' (sentry-sdk), or SENTRY_DSN unset",
        ) from exc
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=_redact_event,  # type: ignore[arg-type]
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
