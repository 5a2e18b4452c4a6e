"""The endpoint Jira posts webhooks to: ``POST /hooks/jira/<instance token>/``."""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications.webhooks.intake import Answer, accept, instance_for_token, max_body_bytes

log = logging.getLogger(__name__)


def _answer(answer: Answer) -> JsonResponse:
    if answer.status >= 400:
        log.info("Jira webhook refused (%s): %s", answer.status, answer.reason)
    return JsonResponse({"status": answer.status, "detail": answer.reason}, status=answer.status)


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, token: str) -> JsonResponse:
    """Accept one delivery (202) or refuse it (4xx); nothing is stored for a refused one."""
    instance = instance_for_token(token)
    if instance is None:
        return _answer(Answer(404, "no Jira instance has this webhook URL (copy it again from the instance's page)"))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_body_bytes():  # refused before reading it
        return _answer(Answer(413, f"the body is larger than {max_body_bytes()} bytes"))
    body = request.read(max_body_bytes() + 1)
    return _answer(
        accept(
            instance,
            body,
            signature=request.headers.get("X-Hub-Signature"),
            identifier=request.headers.get("X-Atlassian-Webhook-Identifier"),
        )
    )
