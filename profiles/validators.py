"""Validators shared by the profile models: regular expressions, lists of them, addresses, fingerprints."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from profiles.directives import is_sensitive_directive
from profiles.patterns import pattern_problem

# Written on its own line in a list field of a non-default mapping: "no entries, do not inherit".
EXPLICITLY_NONE = "(none)"


def split_lines(text: str | None) -> list[str]:
    """Non-empty, stripped lines of a one-per-line text field."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def validate_regex(value: str) -> None:
    """A pattern of configuration must compile for RE2 (see :mod:`profiles.patterns`)."""
    problem = pattern_problem(value)
    if problem:
        raise ValidationError(problem)


def validate_regex_lines(value: str | None) -> None:
    errors = []
    for number, line in enumerate(split_lines(value), start=1):
        if line == EXPLICITLY_NONE:
            continue
        problem = pattern_problem(line)
        if problem:
            errors.append(f"line {number}: {problem}")
    if errors:
        raise ValidationError(errors)


def validate_address_lines(value: str | None) -> None:
    errors = []
    for number, line in enumerate(split_lines(value), start=1):
        try:
            validate_email(line)
        except ValidationError:
            errors.append(f"line {number} ({line!r}) is not an email address")
    if errors:
        raise ValidationError(errors)


_SHA256 = re.compile(r"[0-9a-f]{64}")


def validate_sha256(value: str) -> None:
    if not _SHA256.fullmatch(value.strip().lower()):
        raise ValidationError(f"{value!r} is not a SHA-256 fingerprint (64 hexadecimal characters)")


_DIRECTIVE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")


def validate_directive_name(value: str) -> None:
    if not _DIRECTIVE_NAME.fullmatch(value):
        raise ValidationError(f"{value!r} is not a directive name (letters, digits, '_', '.', '-'; a letter first)")


def validate_directive_name_lines(value: str | None) -> None:
    errors = []
    for line in split_lines(value):
        try:
            validate_directive_name(line)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)


def validate_harmless_directive_lines(value: str | None) -> None:
    """Directive names an e-mail-only sender may use: none may name a person, project, security level or custom
    field (the foreign-key field is a custom field)."""
    validate_directive_name_lines(value)
    refused = [line for line in split_lines(value) if is_sensitive_directive(line)]
    if refused:
        raise ValidationError(
            f"{', '.join(refused)}: e-mail-only senders may never use a directive naming a person, project, "
            "security level or custom field (or one that is not a known directive)"
        )
