"""Rendering notification mail from Django templates: subject, plain text and HTML.

Defaults live in ``notifications/templates/notifications/`` (``subject.txt``, ``body.txt``, ``body.html``); a
mapping may override each. The HTML template is autoescaped, so user-controlled values (summaries, names, field
values) are escaped; comment and description bodies (Markdown) are given as ``*_html`` values already made safe by
:func:`notifications.markdown.markdown_to_html` (escape first, then nh3). Subject and text are rendered without
autoescaping (they are not HTML); the subject is folded to one line so it can never inject a header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError, engines
from django.template.base import Template

from notifications.choices import EventKind, MailFormat
from notifications.header_values import one_line
from notifications.markdown import markdown_to_html
from notifications.recipients import IssueView

DEFAULTS = {"subject": "notifications/subject.txt", "text": "notifications/body.txt", "html": "notifications/body.html"}
SUBJECT_MAX = 250
KIND_VERBS = {
    EventKind.CREATED: "created the issue",
    EventKind.UPDATED: "changed the issue",
    EventKind.COMMENTED: "commented",
    EventKind.RESOLVED: "resolved the issue",
    EventKind.DELETED: "deleted the issue",
}


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str | None
    html: str | None


def _engine() -> Engine:
    return engines["django"].engine  # type: ignore[attr-defined]  # DjangoTemplates backend has .engine


def _template(override: str, part: str) -> Template:
    if override and override.strip():
        return _compiled(override)
    return _engine().get_template(DEFAULTS[part])  # the engine's cached loader compiles each file once


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """A mapping's template override, compiled once per process (keyed by its text, so an edit recompiles)."""
    return _engine().from_string(source)


def mentions_recipient(mapping: Any) -> bool:
    """Whether the mapping's templates may use ``recipient`` (the defaults do not): if not, every recipient of the
    same events gets the same rendered subject and body, rendered once."""
    return any(
        "recipient" in (getattr(mapping, name, "") or "")
        for name in ("subject_template", "text_template", "html_template")
    )


def template_errors(source: str) -> str | None:
    """A readable syntax error of a template override, or None."""
    if not source or not source.strip():
        return None
    try:
        _engine().from_string(source)
    except TemplateSyntaxError as exc:
        return f"Template error: {exc}"
    return None


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value) or "—"
    if isinstance(value, Mapping):
        return str(value.get("name") or value.get("email") or value.get("account_id") or value)
    return str(value)


def event_view(event: Any, comments: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees of one event (``event`` is an IssueEvent with its decrypted payload)."""
    payload = event.payload or {}
    actor = event.actor or {}
    comment_body, comment_author = "", ""
    if payload.get("comment"):
        comment_body = str(payload["comment"].get("body") or "")
        comment_author = str(payload["comment"].get("author_name") or payload["comment"].get("author_email") or "")
    elif payload.get("comment_id") and str(payload["comment_id"]) in comments:
        found = comments[str(payload["comment_id"])]
        comment_body = found.body
        comment_author = (found.author.display_name if found.author else "") or found.author_name or found.author_email
    changes = [
        {"field": str(c.get("field") or "").replace("_", " "), "old": _text(c.get("old")), "new": _text(c.get("new"))}
        for c in payload.get("changes") or []
        if c.get("field") not in {"comment", "resolved_at"}
    ]
    return {
        "kind": event.kind,
        "verb": KIND_VERBS.get(event.kind, event.kind),
        "actor_name": actor.get("name") or actor.get("email") or actor.get("account_id") or "Someone",
        "occurred_at": event.occurred_at,
        "changes": changes,
        "comment_text": comment_body,
        "comment_html": markdown_to_html(comment_body) if comment_body else "",
        "comment_author": comment_author,
    }


def build_context(
    *,
    instance: Any,
    issue: IssueView,
    events: Sequence[Any],
    recipient: str,
    comments: Mapping[str, Any] | None = None,
    attachments: Iterable[Mapping[str, Any]] = (),
    skipped_attachments: Iterable[Mapping[str, Any]] = (),
    can_reply: bool = True,
) -> dict[str, Any]:
    views = [event_view(e, comments or {}) for e in events]
    kinds = {e.kind for e in events}
    base = (getattr(instance, "base_url", "") or "").rstrip("/")
    return {
        "instance_name": instance.name,
        "issue": {
            "key": issue.key,
            "summary": issue.summary or "(no summary)",
            "status": issue.status,
            "priority": issue.priority,
            "issue_type": issue.issue_type,
            "resolution": issue.resolution,
            "reporter": _text(issue.reporter.name or issue.reporter.email) if issue.reporter else "",
            "assignee": _text(issue.assignee.name or issue.assignee.email) if issue.assignee else "Unassigned",
            "description_text": issue.description,
            "description_html": markdown_to_html(issue.description) if issue.description else "",
            "url": f"{base}/browse/{issue.key}" if base else "",
            "exists": issue.exists,
        },
        "events": views,
        "is_new": EventKind.CREATED in kinds,
        "is_deleted": EventKind.DELETED in kinds,
        "headline": _headline(views),
        "recipient": recipient,
        "attachments": list(attachments),
        "skipped_attachments": list(skipped_attachments),
        "can_reply": can_reply,
    }


def _headline(views: Sequence[Mapping[str, Any]]) -> str:
    if not views:
        return ""
    if len(views) == 1:
        return f"{views[0]['actor_name']} {views[0]['verb']}"
    actors = list(dict.fromkeys(v["actor_name"] for v in views))
    who = actors[0] if len(actors) == 1 else f"{', '.join(actors[:-1])} and {actors[-1]}"
    return f"{who}: {len(views)} changes"


def _fold(subject: str) -> str:
    subject = re.sub(r"\s+", " ", one_line(subject)).strip()
    return subject[:SUBJECT_MAX].rstrip()


def mail_format(mapping: Any) -> MailFormat:
    """The mapping's format (both without a mapping). An unknown value fails closed: no mail is made (the
    events fail with this reason, for a human) rather than one without a body."""
    value = getattr(mapping, "format", MailFormat.BOTH)
    try:
        return MailFormat(value)
    except ValueError:
        raise ValueError(
            f"notification mapping {getattr(mapping, 'name', '')!r} has the unknown mail format {value!r} "
            f"(expected one of {', '.join(MailFormat.values)})"
        ) from None


def render(mapping: Any, context: Mapping[str, Any]) -> RenderedMail:
    """Render subject, text and/or HTML per the mapping's format (``mapping`` may be None: defaults, both)."""
    fmt = mail_format(mapping)
    plain = Context(dict(context), autoescape=False)
    subject = _fold(_template(getattr(mapping, "subject_template", ""), "subject").render(plain))
    text: str | None = None
    html: str | None = None
    if fmt in (MailFormat.BOTH, MailFormat.TEXT):
        text = _template(getattr(mapping, "text_template", ""), "text").render(Context(dict(context), autoescape=False))
        text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    if fmt in (MailFormat.BOTH, MailFormat.HTML):
        html = _template(getattr(mapping, "html_template", ""), "html").render(Context(dict(context), autoescape=True))
    return RenderedMail(subject=subject or f"[{context['issue']['key']}]", text=text, html=html)
