"""Test cases: a raw message an admin runs against a profile (the run itself belongs to the pipeline)."""

from __future__ import annotations

import base64

from django.db import models

from jemh.fields import EncryptedJSONField, EncryptedTextField

# Prefix of a raw message stored as base64 because it is not valid UTF-8 (a NUL never starts real mail).
_BINARY_MARKER = "\x00base64:"


class TestCase(models.Model):
    __test__ = False  # not a pytest class

    profile = models.ForeignKey("profiles.Profile", on_delete=models.CASCADE, related_name="test_cases")
    name = models.CharField(max_length=200)
    raw_message = EncryptedTextField(
        help_text="The full message source (headers and body), encrypted at rest.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    inbound_id = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        editable=False,
        help_text="The inbound message it was made from, by id (inbound owns that row); blank when pasted or uploaded.",
    )
    # Reports can name people (a bounce's recipients, a sender in a reason): encrypted like inbound reports.
    last_run_report = EncryptedJSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["profile", "name"]
        permissions = [("run_testcase", "Can run a test case for real (creates issues and comments)")]

    def __str__(self) -> str:
        return self.name

    @property
    def raw_bytes(self) -> bytes:
        """The message as bytes: pasted text as UTF-8; uploads that are not UTF-8 are kept byte for byte."""
        text = self.raw_message or ""
        if text.startswith(_BINARY_MARKER):
            return base64.b64decode(text[len(_BINARY_MARKER) :])
        return text.encode("utf-8")

    @raw_bytes.setter
    def raw_bytes(self, value: bytes) -> None:
        try:
            self.raw_message = value.decode("utf-8")
        except UnicodeDecodeError:
            self.raw_message = _BINARY_MARKER + base64.b64encode(value).decode("ascii")
