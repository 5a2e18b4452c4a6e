"""Jira webhook intake: ``/hooks/jira/<instance token>/`` checks a delivery (token, HMAC signature, size, JSON,
replay), stores it encrypted and answers 202; a task turns it into the same :class:`~notifications.models.IssueEvent`
the local tracker's changes become, so mappings, batching, threading and the outbound audit work unchanged."""
