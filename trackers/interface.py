"""The Tracker interface: everything the pipeline and the notifications may ask of an issue tracker.

Callers get a Tracker from :func:`trackers.registry.get_tracker` and talk to it only through the
methods of :class:`Tracker` and the immutable dataclasses below; they never learn whether the tracker
is the built-in one or Jira.

Conventions (tests/trackers/contract.py is the behaviour suite every backend passes)
- Issue keys look like ``ABC-123``; they are matched case-insensitively, surrounding whitespace ignored. A
  method given the key of an issue that does not exist (also one of an unknown project) raises IssueNotFound,
  except the ``find_*`` methods, which answer None or leave it out.
- Vocabulary (issue types, priorities, statuses, transition names, resolutions) is matched case-insensitively
  and returned as the tracker spells it; an unknown value is InvalidFieldValue (InvalidTransition for a status).
- Users with an account are identified by ``account_id`` (the username in the local tracker, the
  accountId in Jira Cloud). People without an account are "email-only": their address lives in the
  issue's Email Sender Address / Email Sender Name / Email Participants fields.
- An account id that names no user is UserNotFound. An inactive account given as a field value (reporter,
  assignee, watcher, comment author) is InvalidFieldValue; as the ``actor`` of a change, PermissionDenied.
  Something that is not an email address where one is expected is InvalidFieldValue.
- Every create operation accepts ``idempotency_key`` (e.g. ``"inbound:123"``). Calling it again with the
  same key returns what the first call created instead of creating a second one, so a worker that
  crashes at any point and runs again never doubles an issue, comment or attachment. This holds for two
  workers calling at once, too (one of them may get TemporaryTrackerError and retry). A call that was refused
  creates nothing and leaves its key unused.
- Labels and watchers are sets: their order is not part of the contract. Email participants keep their order.
- Errors are :mod:`trackers.errors` exceptions; ``TemporaryTrackerError`` is the retryable one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Final, Protocol, runtime_checkable


class _Unset:
    """Marker for "leave this field as it is" where ``None`` means "clear it"."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()


_WHITESPACE = re.compile(r"\s")  # (str.isspace's characters: Unicode whitespace)


def usable_address(email: str) -> bool:
    """An address a tracker accepts as a person's (not e.g. "To: XX"): an ``@`` and no white space."""
    return bool(email) and "@" in email and _WHITESPACE.search(email) is None


def normalize_message_id(message_id: str) -> str:
    """``<abc@host>``, `` abc@host `` and ``<abc@host>`` are the same Message-ID: return ``<abc@host>``."""
    value = message_id.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1].strip()
    return f"<{value}>"


class Permission:
    """Project permissions the pipeline asks about, spelled as Jira's project permission keys."""

    BROWSE_PROJECTS: Final = "BROWSE_PROJECTS"
    CREATE_ISSUES: Final = "CREATE_ISSUES"
    ADD_COMMENTS: Final = "ADD_COMMENTS"
    EDIT_ISSUES: Final = "EDIT_ISSUES"
    ASSIGN_ISSUES: Final = "ASSIGN_ISSUES"
    MODIFY_REPORTER: Final = "MODIFY_REPORTER"
    MANAGE_WATCHERS: Final = "MANAGE_WATCHERS"
    SET_ISSUE_SECURITY: Final = "SET_ISSUE_SECURITY"


PROJECT_PERMISSIONS: Final = frozenset(
    value for name, value in vars(Permission).items() if not name.startswith("_") and isinstance(value, str)
)


@dataclass(frozen=True)
class TrackerUser:
    """A person with an account in the tracker."""

    account_id: str
    email: str
    display_name: str
    active: bool = True


@dataclass(frozen=True)
class Actor:
    """Who does a change: a user with an account, an email-only person, or neither (the system)."""

    account_id: str | None = None
    email: str | None = None
    name: str | None = None
    automated: bool = False  # the change comes from automated mail (auto-reply, bounce, bulk, list): never acknowledged
    # where an acknowledgement may go: the authenticated From (or SPF-passed envelope sender) of the mail that made
    # the change; empty for unauthenticated mail, whose From anyone can write (no backscatter to a forged address)
    acknowledge_to: str = ""

    @classmethod
    def user(cls, account_id: str) -> Actor:
        return cls(account_id=account_id)

    @classmethod
    def email_only(cls, address: str, name: str | None = None) -> Actor:
        return cls(email=address, name=name)


@dataclass(frozen=True)
class TrackerProject:
    key: str
    name: str
    lead: TrackerUser | None
    default_issue_type: str
    default_priority: str
    issue_types: tuple[str, ...]
    priorities: tuple[str, ...]
    statuses: tuple[str, ...]


@dataclass(frozen=True)
class TrackerIssue:
    key: str
    project_key: str
    summary: str
    description: str
    issue_type: str
    priority: str
    status: str
    resolution: str  # "" while unresolved
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    reporter: TrackerUser | None
    assignee: TrackerUser | None
    labels: tuple[str, ...]
    watchers: tuple[TrackerUser, ...]
    email_sender_address: str  # email-only reporter ("" when the reporter has an account)
    email_sender_name: str
    email_participants: tuple[str, ...]  # email-only participants' addresses
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    # how many comments the issue has, when the tracker said so along with the issue (None: not known; then a
    # caller that needs it lists the comments). A reading that came along, not part of the issue: two readings of
    # one issue compare equal whether or not they brought it.
    comment_count: int | None = field(default=None, compare=False)

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None


@dataclass(frozen=True)
class TrackerComment:
    id: str
    issue_key: str
    body: str  # Markdown
    author: TrackerUser | None
    author_email: str  # email-only author ("" when the author has an account)
    author_name: str
    created_at: datetime
    source_message_id: int | None  # the inbound audit id it was made from, if any


@dataclass(frozen=True)
class TrackerAttachment:
    id: str
    issue_key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    comment_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class Transition:
    """A move the workflow allows from an issue's current status."""

    id: str
    name: str
    to_status: str


@dataclass(frozen=True)
class NewIssue:
    """An issue to create. The summary is stored on one line (runs of whitespace become one space) and cut at
    255 characters; an empty one is InvalidFieldValue. Custom field values must be JSON (text, numbers, lists)."""

    project_key: str
    summary: str
    description: str = ""  # Markdown
    issue_type: str | None = None  # None: the project's default
    priority: str | None = None  # None: the project's default
    reporter: str | None = None  # account id; None for an email-only sender
    assignee: str | None = None  # account id
    labels: tuple[str, ...] = ()
    watchers: tuple[str, ...] = ()  # account ids
    email_sender_address: str = ""
    email_sender_name: str = ""
    email_participants: tuple[str, ...] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    source_message_id: int | None = None  # inbound audit id
    message_ids: tuple[str, ...] = ()  # Message-IDs recorded (kind inbound) with the issue, atomically


@dataclass(frozen=True)
class NewComment:
    """A comment to add. The body is kept whole, however long (cutting a long body and attaching the full text is
    the pipeline's job); an empty one is InvalidFieldValue."""

    body: str  # Markdown
    author: str | None = None  # account id; None for an email-only author (give author_email)
    author_email: str = ""
    author_name: str = ""
    source_message_id: int | None = None
    message_ids: tuple[str, ...] = ()  # recorded (kind inbound) with the comment, atomically


@dataclass(frozen=True)
class IssueUpdate:
    """Changes to an issue; a field left at its default is not touched."""

    summary: str | None = None
    description: str | None = None
    issue_type: str | None = None
    priority: str | None = None
    assignee: str | _Unset | None = UNSET  # account id, None to unassign
    labels: tuple[str, ...] | None = None  # replaces all labels
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()
    add_watchers: tuple[str, ...] = ()  # account ids
    remove_watchers: tuple[str, ...] = ()
    email_sender_address: str | None = None
    email_sender_name: str | None = None


@dataclass(frozen=True)
class AttachmentUpload:
    """A file to attach: give ``data`` or a readable, seekable binary ``file``.

    ``sha256`` is computed when not given; when given it is checked against the content.
    """

    filename: str
    content_type: str = "application/octet-stream"
    data: bytes | None = None
    file: BinaryIO | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.file is None):
            raise ValueError("AttachmentUpload needs exactly one of data= or file=")
        if not self.filename.strip():
            raise ValueError("AttachmentUpload needs a file name")

    def content_sha256(self) -> str:
        """The SHA-256 of the content (hex); reads a file through and rewinds it."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        assert self.file is not None
        digest = hashlib.sha256()
        start = self.file.tell()
        for chunk in iter(lambda: self.file.read(1024 * 1024), b""):  # type: ignore[union-attr]  # asserted above; mypy drops it in a lambda
            digest.update(chunk)
        self.file.seek(start)
        return digest.hexdigest()


ERASED_SENDER: Final = "erased sender"
REDACTED_TEXT: Final = "(removed: written by an erased sender)"


@dataclass(frozen=True)
class SubjectHoldings:
    """What a tracker holds about one e-mail address (a data subject): issues where it is the e-mail-only reporter
    or an e-mail-only participant, and comments whose e-mail-only author it is."""

    reported: tuple[TrackerIssue, ...] = ()
    participating: tuple[TrackerIssue, ...] = ()
    comments: tuple[TrackerComment, ...] = ()

    @property
    def issue_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(i.key for i in self.reported), *(i.key for i in self.participating)]))


@dataclass(frozen=True)
class SubjectErasure:
    """What erasing an address changed in a tracker, by kind (counts only: no personal data)."""

    reporter_fields_cleared: int = 0  # issues whose Email Sender Address / Name were cleared
    participants_removed: int = 0  # issues the address was removed from as a participant
    comment_authors_replaced: int = 0  # comments whose author became "erased sender"
    texts_redacted: int = 0  # issue and comment texts replaced (only when asked to redact)
    attachments_removed: int = 0  # attachments of the redacted issues and comments
    mentions_removed: int = 0  # texts the address was cut out of (others' texts quoting it)

    def as_counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def mentions(text: str, address: str) -> bool:
    """Whether ``text`` names ``address`` (case-insensitive)."""
    return bool(address) and address.strip().lower() in (text or "").lower()


def without_address(text: str, address: str) -> str:
    """``text`` with every spelling of ``address`` (case-insensitive) replaced by "erased sender"."""
    import re

    needle = address.strip()
    if not needle or not text:
        return text
    return re.sub(re.escape(needle), ERASED_SENDER, text, flags=re.IGNORECASE)


def mail_comment_counts(
    comments: Iterable[TrackerComment], since: datetime, excluding_message: int | None = None
) -> tuple[int, int]:
    """``Tracker.count_mail_comments`` worked out from listed comments (for trackers that cannot count)."""
    from_mail = [c for c in comments if c.source_message_id is not None and c.source_message_id != excluding_message]
    return len(from_mail), sum(1 for c in from_mail if c.created_at >= since)


@runtime_checkable
class Tracker(Protocol):
    """What the pipeline and the notifications may ask of a tracker. See the module docstring."""

    # -- projects and users -------------------------------------------------------------------------
    def get_project(self, project_key: str) -> TrackerProject:
        """The project; ProjectNotFound if there is none with that key."""
        ...

    def project_keys(self) -> tuple[str, ...]:
        """The keys of the projects the tracker's account may see, sorted (the admin offers them as choices)."""
        ...

    def find_user_by_email(self, email: str) -> TrackerUser | None:
        """The active user with this address (case-insensitive), or None: the sender is email-only."""
        ...

    def find_users_by_email(self, emails: Sequence[str]) -> dict[str, TrackerUser | None]:
        """find_user_by_email for several addresses at once (one round trip where the tracker allows), by the
        address as given."""
        ...

    def user_lookup_note(self, email: str) -> str:
        """After find_user_by_email found no user for ``email``: why, when the tracker knows more than "there is no
        such user" (Jira Cloud: the owner's privacy setting may hide the address), for the processing report;
        "" otherwise."""
        ...

    def get_user(self, account_id: str) -> TrackerUser | None:
        """The user with this account id, inactive ones too (``active`` says which), or None."""
        ...

    def project_permissions(self, account_id: str, project_key: str, permissions: Iterable[str]) -> frozenset[str]:
        """Those of ``permissions`` (:class:`Permission` values) the account holds in the project. An unknown or
        inactive account holds none; a name outside :data:`PROJECT_PERMISSIONS` is never held; ProjectNotFound
        for an unknown project."""
        ...

    # -- finding issues -----------------------------------------------------------------------------
    def find_issue(self, key: str) -> TrackerIssue | None:
        """The issue, or None if there is none with that key."""
        ...

    def find_issues(self, keys: Sequence[str]) -> dict[str, TrackerIssue]:
        """find_issue for several keys at once (one round trip where the tracker allows): the issues found, by the
        key as given; keys of issues that do not exist are missing."""
        ...

    def get_issue(self, key: str) -> TrackerIssue:
        """The issue; IssueNotFound if there is none."""
        ...

    def find_issue_by_message_ids(self, message_ids: Sequence[str]) -> TrackerIssue | None:
        """The issue a Message-ID belongs to (recorded with record_message_id or on create); the first
        id in the given order that matches wins (pass In-Reply-To first, then References newest first). Empty
        ids match nothing; no id matching gives None."""
        ...

    def find_issue_by_foreign_key(
        self, field_name: str, value: str, project_key: str | None = None
    ) -> TrackerIssue | None:
        """The most recently created issue whose custom field ``field_name`` equals ``value`` (in the project
        ``project_key`` when given: ProjectNotFound if there is none), or None."""
        ...

    # -- creating -----------------------------------------------------------------------------------
    def create_issue(
        self, new: NewIssue, *, idempotency_key: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        """Create the issue (its Message-IDs recorded with it) and return it as stored; ProjectNotFound for an
        unknown project. Issue type and priority default to the project's."""
        ...

    def add_comment(
        self, issue_key: str, comment: NewComment, *, idempotency_key: str | None = None
    ) -> TrackerComment: ...

    def list_comments(self, issue_key: str) -> list[TrackerComment]:
        """Oldest first."""
        ...

    def count_mail_comments(
        self, issue_key: str, *, since: datetime, excluding_message: int | None = None
    ) -> tuple[int, int]:
        """How many of the issue's comments were made from mail (they have a ``source_message_id``), in all and
        those created at or after ``since``; comments of ``excluding_message`` (the message in hand) are left
        out. IssueNotFound for an unknown issue. (The loop limits ask this for every reply: a tracker answers it
        without reading the comments' bodies where it can.)"""
        ...

    def add_attachments(
        self,
        issue_key: str,
        uploads: Iterable[AttachmentUpload],
        *,
        comment_id: str | None = None,
        idempotency_key: str | None = None,
        actor: Actor | None = None,
    ) -> list[TrackerAttachment]:
        """Attach every upload (no dedupe: that is the caller's job, see attachment_hashes) and return
        what was attached, in order. With an idempotency key, an upload whose content was already
        attached under that key is returned as it is instead of being stored again.

        Names, content types and sizes are kept. An upload whose content does not match its given ``sha256`` is
        InvalidFieldValue (nothing of that call is stored after it); a ``comment_id`` that is not one of the
        issue's comments is NotFound."""
        ...

    def list_attachments(self, issue_key: str) -> list[TrackerAttachment]: ...

    def attachment_hashes(self, issue_key: str) -> frozenset[str]:
        """SHA-256 (hex) of every attachment the issue has."""
        ...

    def read_attachment(self, issue_key: str, attachment_id: str) -> bytes:
        """The attachment's content; NotFound if the issue has no attachment with that id."""
        ...

    def record_message_id(self, issue_key: str, message_id: str, *, kind: str = "outbound") -> None:
        """Remember that a Message-ID belongs to an issue (``inbound`` or ``outbound``); idempotent. An empty
        Message-ID or another kind is InvalidFieldValue; IssueNotFound if the issue no longer exists, even when it
        was looked up a moment ago."""
        ...

    def record_message_ids(self, issue_key: str, message_ids: Sequence[str], *, kind: str = "outbound") -> None:
        """record_message_id for several Message-IDs at once (one round trip where the tracker allows)."""
        ...

    # -- changing -----------------------------------------------------------------------------------
    def update_issue(self, issue_key: str, update: IssueUpdate, *, actor: Actor | None = None) -> TrackerIssue:
        """Apply the update and return the issue as stored; a refused update changes nothing. Removing a watcher
        that does not watch (or does not exist) is no error."""
        ...

    def list_transitions(self, issue_key: str) -> list[Transition]:
        """The moves the workflow allows from the issue's current status (never to the status it has)."""
        ...

    def transition_issue(
        self, issue_key: str, to_status: str, *, resolution: str | None = None, actor: Actor | None = None
    ) -> TrackerIssue:
        """Move the issue to ``to_status`` (a status name, or a transition name); InvalidTransition if
        the workflow has no such move from the current status (also for the status it has, or an unknown one),
        and nothing changes. Entering a resolved status sets the resolution (``resolution``, else the tracker's
        default; an unknown one is InvalidFieldValue) and ``resolved_at``; leaving it for an open status clears
        both."""
        ...

    def get_participants(self, issue_key: str) -> tuple[str, ...]:
        """The email-only participants' addresses, in the order they were added."""
        ...

    def add_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        """Add email-only participants (case-insensitive dedupe, the first spelling kept; blank ones ignored);
        returns the whole list. One invalid address is InvalidFieldValue and changes nothing."""
        ...

    def set_participants(
        self, issue_key: str, addresses: Iterable[str], *, actor: Actor | None = None
    ) -> tuple[str, ...]:
        """Replace the email-only participants (deduped as add_participants does); returns the new list."""
        ...

    def get_custom_fields(self, issue_key: str) -> dict[str, Any]:
        """The issue's custom fields that have a value, by name."""
        ...

    def update_custom_fields(
        self, issue_key: str, values: Mapping[str, Any], *, actor: Actor | None = None
    ) -> TrackerIssue:
        """Set each field; a value of None removes the field. A value that is not JSON (text, numbers, lists) is
        InvalidFieldValue and changes nothing."""
        ...

    # -- a data subject (privacy.md, "Rights of the people in the mail") ------------------------------------------
    def find_subject(self, address: str, *, issue_keys: Sequence[str] = ()) -> SubjectHoldings:
        """Every issue whose e-mail-only reporter (Email Sender Address) or e-mail-only participant ``address`` is
        (case-insensitive), and every comment whose e-mail-only author it is. ``issue_keys`` (issues mail of that
        address went to, from the audit) are looked at too; keys of issues that no longer exist are skipped. A
        tracker that cannot search a field finds them through those keys."""
        ...

    def erase_subject(
        self, address: str, *, issue_keys: Sequence[str] = (), redact_texts: bool = False
    ) -> SubjectErasure:
        """Erase ``address`` from what :meth:`find_subject` finds: the e-mail-only reporter fields are cleared, the
        address leaves the participants, comment authors become "erased sender" (:data:`ERASED_SENDER`), and the
        address is cut out of the summary, description and comment texts of those issues and of ``issue_keys``.
        With ``redact_texts``, the texts that person wrote (the issues they reported, their comments) are replaced
        by :data:`REDACTED_TEXT` and their attachments removed. Idempotent: after it, find_subject finds nothing."""
        ...
