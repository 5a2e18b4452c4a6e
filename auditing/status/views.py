"""``/metrics`` (Prometheus) and ``/status.json`` (the dashboard's numbers for monitoring): both off unless configured,
both behind a bearer token (``/metrics`` without a token answers loopback clients only)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from auditing.status import metrics as collector
from auditing.status.snapshot import snapshot
from jemh import metrics


def bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _refused(status: int, why: str) -> HttpResponse:
    response = HttpResponse(why + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="jemh"'
    return response


def _loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.JEMH_METRICS_ENABLED:
        raise Http404("metrics are off (JEMH_METRICS_ENABLED)")
    token = settings.JEMH_METRICS_TOKEN
    if token and not bearer_matches(request, token):
        return _refused(401, "a bearer token (JEMH_METRICS_TOKEN) is required")
    if not token and not _loopback(request):
        return _refused(403, "without JEMH_METRICS_TOKEN, metrics answer loopback clients only")
    metrics.flush_quietly()  # this process's own counts first
    response = HttpResponse(generate_latest(collector.registry()), content_type=CONTENT_TYPE_LATEST)
    add_never_cache_headers(response)
    return response


@require_GET
def status_json(request: HttpRequest) -> HttpResponse:
    token = settings.JEMH_STATUS_TOKEN
    if not token:
        raise Http404("the status JSON is off (JEMH_STATUS_TOKEN)")
    if not bearer_matches(request, token):
        return _refused(401, "a bearer token (JEMH_STATUS_TOKEN) is required")
    response = JsonResponse(snapshot().as_json())
    add_never_cache_headers(response)
    return response
