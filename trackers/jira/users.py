"""Jira users by e-mail (Cloud ``/user/search?query=``, Data Center ``/user/search?username=``) and by account id,
cached per site with a TTL.

On Cloud a user may hide their address (privacy setting): the search then finds no user showing that address, and
the sender is treated as e-mail-only (:meth:`UserDirectory.note` says why, for the processing report)."""

from __future__ import annotations

import threading
import time
from typing import Any

from trackers.interface import TrackerUser
from trackers.jira.client import JiraClient

TTL = 300.0
_by_email: dict[tuple[str, str], tuple[float, TrackerUser | None]] = {}
_by_id: dict[tuple[str, str], tuple[float, TrackerUser | None]] = {}
_notes: dict[tuple[str, str], str] = {}  # why an address found no user (see UserDirectory.note)
_lock = threading.Lock()


def to_user(raw: dict[str, Any], cloud: bool) -> TrackerUser:
    account_id = raw.get("accountId") if cloud else raw.get("name")
    return TrackerUser(
        account_id=str(account_id or ""),
        email=str(raw.get("emailAddress") or ""),
        display_name=str(raw.get("displayName") or ""),
        active=bool(raw.get("active", True)),
    )


class UserDirectory:
    def __init__(self, client: JiraClient) -> None:
        self.client = client
        self.site = client.base_url

    def by_email(self, email: str) -> TrackerUser | None:
        """The active user showing this address, or None."""
        address = email.strip().casefold()
        if not address:
            return None
        key = (self.site, address)
        with _lock:
            cached = _by_email.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        param = "query" if self.client.is_cloud else "username"
        found = None
        hidden = 0  # active users the search matched that show no address (Cloud privacy setting)
        for raw in self.client.get("user/search", params={param: address, "maxResults": 10}):
            user = to_user(raw, self.client.is_cloud)
            if user.active and user.email.casefold() == address:
                found = user
                break
            if user.active and not user.email:
                hidden += 1
        note = "" if found is not None else self._note(hidden)
        with _lock:
            _by_email[key] = (time.monotonic() + TTL, found)
            _notes[key] = note
            if found is not None:
                _by_id[(self.site, found.account_id)] = (time.monotonic() + TTL, found)
        return found

    def _note(self, hidden: int) -> str:
        if not self.client.is_cloud:
            return ""
        if hidden:
            return (
                f"Jira found {'an account' if hidden == 1 else f'{hidden} accounts'} for this address whose owner's "
                "privacy setting hides the address, so it cannot be confirmed as the sender: treated as an "
                "e-mail-only sender (the owner can make the address visible in their Atlassian profile)"
            )
        return (
            "no Jira account shows this address (there is none, or its owner's privacy setting hides it): "
            "treated as an e-mail-only sender"
        )

    def note(self, email: str) -> str:
        """Why :meth:`by_email` found no user for this address, when Jira may know more (Cloud: the owner's
        privacy setting may hide it); "" when a user was found, on Data Center, or when it was not looked up."""
        with _lock:
            return _notes.get((self.site, email.strip().casefold()), "")

    def by_id(self, account_id: str) -> TrackerUser | None:
        """The user with this account id (inactive ones too), or None."""
        if not account_id or not account_id.strip():
            return None
        key = (self.site, account_id)
        with _lock:
            cached = _by_id.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        param = "accountId" if self.client.is_cloud else "username"
        response = self.client.request("GET", "user", params={param: account_id}, not_found=None)
        user = None if response.status_code == 404 else to_user(response.json(), self.client.is_cloud)
        with _lock:
            _by_id[key] = (time.monotonic() + TTL, user)
        return user

    def remember(self, raw: dict[str, Any]) -> TrackerUser:
        """A user as an issue or comment showed it (kept for by_id)."""
        user = to_user(raw, self.client.is_cloud)
        if user.account_id:
            with _lock:
                _by_id[(self.site, user.account_id)] = (time.monotonic() + TTL, user)
        return user
