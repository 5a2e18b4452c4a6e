"""Conformance over every message in the shared corpora."""

from __future__ import annotations

import json
from pathlib import Path

from inbound.mime import ParsedMessage, parse
from tests.mime.corpus import message_files, reply_files


def test_every_corpus_message_parses(shared_dir: Path) -> None:
    files = message_files(shared_dir / "corpora")
    assert len(files) > 300
    for path in files:
        message = parse(path.read_bytes())
        assert isinstance(message, ParsedMessage), path
        message.to_dict()


def test_bounced_recipients_match_flufl_expectations(shared_dir: Path) -> None:
    root = shared_dir / "corpora" / "flufl.bounce"
    expected: dict[str, set[str]] = {}
    for row in json.loads((root / "EXPECTED_detectors.json").read_text()):
        expected.setdefault(row["file"], set()).update(a.lower() for a in row["expected_addresses"])
    misses = []
    for name, addresses in sorted(expected.items()):
        message = parse((root / name).read_bytes())
        got = {a.lower() for a in message.classification.bounced_recipients}
        if addresses and not message.classification.bounce:
            misses.append(f"{name}: not recognised as a bounce")
        elif got != addresses:
            misses.append(f"{name}: expected {sorted(addresses)}, got {sorted(got)}")
    rate = 1 - len(misses) / len(expected)
    print(f"\nbounce recipients: {len(expected) - len(misses)}/{len(expected)} = {rate:.1%}")
    print("\n".join(misses))
    assert rate >= 0.90, "\n".join(misses)


def test_every_flufl_bounce_is_flagged(shared_dir: Path) -> None:
    root = shared_dir / "corpora" / "flufl.bounce" / "tests" / "data"
    flagged = [p.name for p in sorted(root.glob("*.txt")) if parse(p.read_bytes()).classification.bounce]
    assert len(flagged) / len(list(root.glob("*.txt"))) >= 0.9


def test_people_replies_are_not_flagged_automatic(shared_dir: Path) -> None:
    files = reply_files(shared_dir / "corpora")
    assert len(files) > 100
    for path in files:
        verdict = parse(path.read_bytes()).classification
        assert not verdict.auto_reply and not verdict.bounce and not verdict.loop, (path, verdict.reasons)


def test_ordinary_corpus_mail_is_not_a_bounce(shared_dir: Path) -> None:
    for name in ("talon", "mail-parser", "django-helpdesk", "zulip"):
        for path in message_files(shared_dir / "corpora" / name):
            assert not parse(path.read_bytes()).classification.bounce, path


def test_real_headers_of_the_corpora(shared_dir: Path) -> None:
    """Real examples of issue 16's header categories (raw 8-bit legacy charsets, comments as names, defects)."""
    root = shared_dir / "corpora"

    def read(name: str) -> ParsedMessage:
        return parse((root / name).read_bytes())

    # raw GB2312 subject, the body declares gb2312 (a Sina bounce); it ends in a fullwidth exclamation mark
    assert read("flufl.bounce/tests/data/sina_01.txt").subject == "邮件传输失败\uff01"
    # a raw 0x85 under a body declaring iso-8859-1: windows-1252's ellipsis, as clients show it
    assert read("flanker/tests/fixtures/messages/spam/broken-headers.eml").subject.endswith("Exchange…")
    postfix = read("flufl.bounce/tests/data/postfix_01.txt")
    assert (postfix.from_.name, postfix.from_.email) == ("Mail Delivery System", "MAILER-DAEMON@python.org")
    for name, defect in [
        ("flanker/tests/fixtures/messages/missing-final-boundary.eml", "missing final boundary"),
        ("cpython/Lib/test/test_email/data/msg_25.txt", "missing boundary guessed"),
        ("cpython/Lib/test/test_email/data/msg_41.txt", "multipart without boundary read as text"),
        ("flanker/tests/fixtures/messages/false-multipart.eml", "multipart without parts read as text"),
    ]:
        message = read(name)
        assert defect in message.defects and message.error is None, name
