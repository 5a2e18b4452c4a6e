"""The Jira account the backend works as (the API token's or personal access token's owner): what it does in Jira
comes back in webhooks as that account's change, which is how our own changes made from mail are recognised."""

from __future__ import annotations

import threading
import time

from trackers.jira.client import JiraClient

TTL = 3600.0
_accounts: dict[int, tuple[float, str]] = {}
_lock = threading.Lock()


def service_account_id(client: JiraClient) -> str:
    """The account id (Cloud ``accountId``, Data Center user name) of the account ``client`` authenticates as, from
    ``/myself`` (cached per client for an hour)."""
    with _lock:
        cached = _accounts.get(id(client))
    if cached and cached[0] > time.monotonic():
        return cached[1]
    me = client.get("myself")
    account = str((me.get("accountId") if client.is_cloud else me.get("name")) or "")
    with _lock:
        _accounts[id(client)] = (time.monotonic() + TTL, account)
    return account
