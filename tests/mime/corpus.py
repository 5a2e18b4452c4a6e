"""The shared corpora as test data: which files are whole messages, which are people's replies."""

from __future__ import annotations

from pathlib import Path

MESSAGE_SUFFIXES = {".eml", ".txt", ".msg"}
NOT_MESSAGES = {"LICENSE", "README", "SOURCES.tsv"}
# Body-only corpora of people's replies (no header section, or messages written by people).
REPLY_CORPORA = ("talon", "email_reply_parser", "zapier-email-reply-parser", "mail-parser-reply", "quotequail")


def message_files(corpora: Path) -> list[Path]:
    files = []
    for path in sorted(corpora.rglob("*")):
        if not path.is_file() or path.name in NOT_MESSAGES or "dkim" in path.parts:
            continue
        if path.suffix.lower() in MESSAGE_SUFFIXES or path.parent.name == "messages":
            files.append(path)
    return files


def reply_files(corpora: Path) -> list[Path]:
    return [
        p
        for name in REPLY_CORPORA
        for p in sorted((corpora / name).rglob("*"))
        if p.is_file() and p.name not in NOT_MESSAGES and p.suffix.lower() in {".eml", ".txt", ".html"}
    ]
