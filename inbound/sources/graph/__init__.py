"""Microsoft Graph mailboxes: a folder read with delta queries, messages fetched as MIME (``session``), read as the
identity :func:`inbound.sources.graph.auth.graph_token` gives."""

from inbound.sources.graph.session import GraphSession

__all__ = ["GraphSession"]
