"""Caps on what is decoded, so hostile input costs bounded time and memory."""

from __future__ import annotations

MAX_HEADER_BLOCK = 256 * 1024  # bytes of a header section that are read
MAX_HEADERS = 500  # header fields kept per part
MAX_HEADER_VALUE = 16 * 1024  # characters of one header value that are decoded
MAX_ENCODED_WORDS = 200  # RFC 2047 words decoded in one header value
MAX_ADDRESSES = 500  # addresses per address header
MAX_REFERENCES = 200  # message ids in References
MAX_DEPTH = 32  # MIME nesting
MAX_PARTS = 500  # MIME parts in one message
MAX_TEXT = 4 * 1024 * 1024  # characters of body text kept
MAX_HTML_INPUT = 4 * 1024 * 1024  # bytes of HTML sanitised / converted
# Characters of one body part decoded: what the caps above can keep, so a larger part is decoded only that far.
# HTML: html_to_text reads up to three times its cap (data: URIs are removed first).
MAX_TEXT_DECODED = MAX_TEXT
MAX_HTML_DECODED = 3 * MAX_HTML_INPUT
TRANSFER_CHUNK = 1024 * 1024  # encoded bytes undone at a time when a body part is decoded only as far as needed
MAX_TNEF = 64 * 1024 * 1024  # bytes of TNEF expanded
