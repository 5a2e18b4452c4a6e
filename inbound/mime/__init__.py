"""Message understanding: raw bytes in, immutable ``ParsedMessage`` out. Pure: no Django, no I/O."""

from __future__ import annotations

from inbound.mime.classify import classify
from inbound.mime.model import Address, Attachment, Classification, ClassifierConfig, ParsedMessage
from inbound.mime.parse import parse

__all__ = ["Address", "Attachment", "Classification", "ClassifierConfig", "ParsedMessage", "classify", "parse"]
