"""Mailbox connectors, one module per kind; ``open_session(source)`` picks the right one."""

from __future__ import annotations

from inbound.models import AuthMethod, Source, SourceKind
from inbound.sources.base import Envelope, MailboxSession, SourceError
from inbound.sources.graph import GraphSession
from inbound.sources.imap import ImapSession
from inbound.sources.maildir import MaildirSession
from inbound.sources.pop3 import Pop3Session

__all__ = ["Envelope", "MailboxSession", "SourceError", "open_session"]


def open_session(source: Source) -> MailboxSession:
    """A session for a polled source (not yet connected: use it as a context manager)."""
    if source.auth_method == AuthMethod.OAUTH2 or source.kind in (SourceKind.GMAIL_OAUTH, SourceKind.M365_OAUTH):
        raise SourceError("OAuth mailboxes are not available yet; use IMAP or POP3 with an app password")
    if source.kind == SourceKind.IMAP:
        return ImapSession(source)
    if source.kind == SourceKind.POP3:
        return Pop3Session(source)
    if source.kind == SourceKind.MAILDIR:
        return MaildirSession(source)
    if source.kind == SourceKind.GRAPH:
        return GraphSession(source)
    raise SourceError(
        f"a {source.get_kind_display()} source is not polled: the MTA delivers into it "
        f"with `python manage.py jemh deliver --source {source.name}`"
    )
