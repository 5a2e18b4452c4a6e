"""Values fit for a header we send: on one line, without control characters; file names without bidi controls.

Every mail we send is built by this app (notifications by :mod:`notifications.composing`, the other kinds handed
to :func:`notifications.services.send_mail`), so this is the outgoing boundary: whatever a value went through
before (a subject decoded from mail, an issue summary from Jira, a hint template), a line break in it can never
start a header of its own, nor make Django refuse the whole mail (``BadHeaderError``). The MIME library already
folds what it decodes (``inbound.mime.controls``, which this app may not import: the same rule, kept here for
what comes from elsewhere).
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # C0 and C1 controls (CR, LF, tab), DEL, separators
_BIDI = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]+")  # embeddings, overrides, isolates, marks


def one_line(value: str) -> str:
    """``value`` with every run of line breaks and control characters made one space, its ends stripped."""
    if not _CONTROLS.search(value):
        return value
    return _CONTROLS.sub(" ", value).strip(" ")


def safe_filename(name: str) -> str:
    """A file name to attach: no control characters and no bidirectional controls (``invoice‮fdp.exe``)."""
    return _BIDI.sub("", _CONTROLS.sub("", name)).strip() or "attachment"
