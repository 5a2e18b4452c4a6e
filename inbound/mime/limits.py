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
MAX_TNEF = 64 * 1024 * 1024  # bytes of TNEF expanded
