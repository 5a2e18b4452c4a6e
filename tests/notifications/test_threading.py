"""The identifiers the inbound pipeline relies on: our Message-IDs, reply tokens and the fingerprint."""

from __future__ import annotations

from typing import Any

import pytest

from notifications import threading


@pytest.fixture(autouse=True)
def domains(settings: Any) -> None:
    settings.JEMH_MESSAGE_ID_DOMAIN = "notify.example.com"
    settings.JEMH_MESSAGE_ID_PREVIOUS_DOMAINS = ["old.example.com"]


def test_message_ids_encode_instance_and_issue_and_parse_back() -> None:
    mid = threading.new_message_id(7, "abc-123")
    assert mid.startswith("<jemh.7.ABC-123.") and mid.endswith("@notify.example.com>")
    assert threading.parse_our_message_id(mid) == (7, "ABC-123")
    assert threading.parse_our_message_id(mid.strip("<>")) == (7, "ABC-123")
    root = threading.thread_root_id(7, "ABC-123")
    assert root == "<jemh.7.ABC-123@notify.example.com>"
    assert threading.parse_our_message_id(root) == (7, "ABC-123")
    assert threading.new_message_id(7, "ABC-123") != mid


@pytest.mark.parametrize(
    "value",
    [
        "<jemh.7.ABC-123.abcd@elsewhere.example>",  # a foreign host
        "<jemh.x.ABC-123.abcd@notify.example.com>",
        "<jemh.7.ABC.abcd@notify.example.com>",
        "<CAF=abc@mail.gmail.com>",
        "",
        "<>",
        "garbage",
    ],
)
def test_foreign_or_malformed_message_ids_are_not_ours(value: str) -> None:
    assert threading.parse_our_message_id(value) is None


def test_previous_domains_still_count_as_ours() -> None:
    assert threading.parse_our_message_id("<jemh.3.OPS-9.ff@old.example.com>") == (3, "OPS-9")
    assert threading.own_message_id_domains() == ["notify.example.com", "old.example.com"]


def test_reply_address_carries_a_token_that_verifies() -> None:
    address = threading.reply_address_for("support@example.com", 7, "ABC-123", "Carol@Example.net")
    local, domain = address.split("@")
    assert domain == "example.com" and local.startswith("support+t-7.abc-123.")
    assert len(local) <= 64 and local == local.lower()
    token = threading.parse_reply_address(address)
    assert token is not None
    assert (token.instance_id, token.issue_key) == (7, "ABC-123")
    assert token.sent_to("carol@example.net") and not token.sent_to("mallory@example.net")
    # upper-cased by a mail server, or given with a display name: still verifies
    assert threading.parse_reply_address(f"Support <{address.upper()}>") == token


def test_an_existing_sub_address_is_replaced() -> None:
    address = threading.reply_address_for("support+abc@example.com", 1, "ABC-1", "x@example.net")
    assert address.startswith("support+t-1.abc-1.")


def test_tampered_tokens_do_not_verify() -> None:
    address = threading.reply_address_for("support@example.com", 7, "ABC-123", "carol@example.net")
    local, domain = address.split("@")
    mac = local.rsplit(".", 1)[1]
    flipped = mac[:-1] + ("a" if mac[-1] != "a" else "b")
    tampered = [
        local.rsplit(".", 1)[0] + "." + flipped,  # the signature
        local.replace("abc-123", "abc-124"),  # another issue
        local.replace("t-7.", "t-8."),  # another instance
        local.rsplit(".", 1)[0],  # no signature
    ]
    for candidate in tampered:
        assert threading.parse_reply_address(f"{candidate}@{domain}") is None, candidate
    assert threading.parse_reply_address("support@example.com") is None
    assert threading.parse_reply_address("support+abc@example.com") is None
    assert threading.parse_reply_address("") is None


def test_tokens_are_bound_to_the_secret_key(settings: Any) -> None:
    address = threading.reply_address_for("support@example.com", 7, "ABC-123", "carol@example.net")
    settings.SECRET_KEY = "another-secret-" * 5
    assert threading.parse_reply_address(address) is None


def test_fingerprint_verifies_and_names_the_header_the_classifier_checks() -> None:
    from inbound.mime.model import DEFAULT_FINGERPRINT_HEADER

    assert threading.FINGERPRINT_HEADER == DEFAULT_FINGERPRINT_HEADER
    value = threading.fingerprint_for(7)
    assert threading.is_our_fingerprint(value) and threading.fingerprint_instance(value) == 7
    assert threading.fingerprint_for(8) != value
    forged = "8:" + value.split(":")[1]
    for bad in (forged, value[:-1] + ("0" if value[-1] != "0" else "1"), "", "7", "jira-fingerprint"):
        assert not threading.is_our_fingerprint(bad), bad
