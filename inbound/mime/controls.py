"""Characters that must not travel from a message we read into text we show or headers we write.

A decoded header (an RFC 2047 encoded word may hold any character) can carry line breaks and control characters:
an encoded CR/LF in a subject would start a new header in any mail that reuses it (Django refuses such a value,
so a forward of it failed and a hint to its sender was silently not sent), and a NUL or an escape sequence is
never text. :func:`header_text` folds them away; it is applied to every decoded header value the parser hands
out (the subject, display names). File names also lose the bidirectional controls that make ``invoice‮fdp.exe``
show as ``invoiceexe.pdf`` (:func:`filename_text`).
"""

from __future__ import annotations

import re

# C0 and C1 controls (tab, CR and LF included), DEL, and the Unicode line and paragraph separators
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# the bidirectional embeddings, overrides and isolates, and the left-to-right and right-to-left marks
_BIDI = re.compile(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def header_text(value: str) -> str:
    """``value`` on one line: every run of line breaks and control characters becomes one space, and the
    ends are stripped of spaces. Fit to be shown, stored and written into a header we send."""
    if not _CONTROLS.search(value):
        return value
    return _CONTROLS.sub(" ", value).strip(" ")


def filename_text(value: str) -> str:
    """``value`` without control characters and without bidirectional controls (nothing put in their place)."""
    return _BIDI.sub("", _CONTROLS.sub("", value))
