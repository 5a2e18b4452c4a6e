"""Which Graph mail folder a source names: a well-known name (``inbox``, ``archive``...), the display name of a
top-level folder or of a folder under the inbox, or else a folder id as it is."""

from __future__ import annotations

from urllib.parse import quote

from jemh.msgraph.client import GraphClient

# Graph's well-known folder names (mailFolder resource type), usable wherever a folder id is.
WELL_KNOWN = frozenset(
    {
        "archive",
        "clutter",
        "conflicts",
        "conversationhistory",
        "deleteditems",
        "drafts",
        "inbox",
        "junkemail",
        "localfailures",
        "msgfolderroot",
        "outbox",
        "recoverableitemsdeletions",
        "scheduled",
        "searchfolders",
        "sentitems",
        "serverfailures",
        "syncissues",
    }
)


def folder_id(client: GraphClient, mailbox_path: str, name: str) -> str:
    """The id (or well-known name) to put in Graph URLs for the folder ``name``."""
    if name.lower() in WELL_KNOWN:
        return name.lower()
    quoted = name.replace("'", "''")
    for parent in (f"{mailbox_path}/mailFolders", f"{mailbox_path}/mailFolders/inbox/childFolders"):
        found = client.request(
            "GET", f"{parent}?$filter=displayName eq '{quote(quoted, safe='')}'&$select=id,displayName"
        ).json()
        for folder in found.get("value", []):
            return str(folder["id"])
    return name


def path_segment(value: str) -> str:
    """A folder or message id as one URL path segment."""
    return quote(value, safe="=-_")
