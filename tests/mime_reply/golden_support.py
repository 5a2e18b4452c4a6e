"""Golden-file conformance over the reference corpora (Zammad style: one input, one expected file).

Inputs stay in ``../shared/corpora`` (never copied); the expected outputs are OUR files under
``tests/mime_reply/golden/<corpus>/<case>.txt``, written from what the upstream tests assert and
reviewed by hand. Leading ``%% `` lines of an expected file are notes (source, where our rules differ
from upstream) and are kept when re-recording. Re-record after an intended change with::

    JEMH_RECORD_GOLDEN=1 .venv/bin/pytest tests/mime_reply -q
"""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
# Our own inputs, written from what the clients named in each file's notes produce (not from any test corpus).
CLIENTS = Path(__file__).resolve().parent / "clients"
RECORD = os.environ.get("JEMH_RECORD_GOLDEN", "") not in {"", "0", "false", "no"}
NOTE = "%% "


@dataclass(frozen=True)
class Case:
    corpus: str
    name: str
    source: str  # path relative to the corpora directory
    part: str  # "text" | "html" | "eml-text" | "eml-html"
    local: bool = False  # the input is one of ours under ``CLIENTS`` rather than in the corpora

    @property
    def expected_path(self) -> Path:
        return GOLDEN / self.corpus / f"{self.name}.txt"

    def inputs(self, corpora: Path) -> tuple[str, str]:
        raw = ((CLIENTS if self.local else corpora) / self.source).read_bytes()
        if self.part == "text":
            text = raw.decode("utf-8", errors="replace")
            while self.local and text.startswith(NOTE):  # our inputs' notes name the client form
                text = text.split("\n", 1)[1] if "\n" in text else ""
            return text, ""
        if self.part == "html":
            return "", raw.decode("utf-8", errors="replace")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        kind = "plain" if self.part == "eml-text" else "html"
        body = message.get_body((kind,))
        content = body.get_content() if body is not None else ""
        return (content, "") if kind == "plain" else ("", content)


def _txt(corpus: str, folder: str, skip: frozenset[str] = frozenset()) -> Callable[[Path], list[Case]]:
    def find(corpora: Path) -> list[Case]:
        files = sorted((corpora / folder).glob("*.txt"))
        return [Case(corpus, f.stem, f"{folder}/{f.name}", "text") for f in files if f.stem not in skip]

    return find


def _talon(corpora: Path) -> list[Case]:
    base = "talon/tests/fixtures"
    cases: list[Case] = []
    for eml in sorted((corpora / base / "standard_replies").glob("*.eml")):
        message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        cases.append(
            Case("talon", f"standard_replies.{eml.stem}.text", f"{base}/standard_replies/{eml.name}", "eml-text")
        )
        if message.get_body(("html",)) is not None and message.is_multipart():
            cases.append(
                Case("talon", f"standard_replies.{eml.stem}.html", f"{base}/standard_replies/{eml.name}", "eml-html")
            )
    for html in sorted((corpora / base / "html_replies").glob("*.html")):
        cases.append(Case("talon", f"html_replies.{html.stem}", f"{base}/html_replies/{html.name}", "html"))
    for name in ("OLK_SRC_BODY_SECTION.html", "reply-separated-by-hr.html"):
        cases.append(Case("talon", Path(name).stem, f"{base}/{name}", "html"))
    share = f"{base}/reply-quotations-share-block.eml"
    cases.append(Case("talon", "reply-quotations-share-block.text", share, "eml-text"))
    cases.append(Case("talon", "reply-quotations-share-block.html", share, "eml-html"))
    return cases


def _quotequail(corpora: Path) -> list[Case]:
    folder = "quotequail/tests/files"
    return [Case("quotequail", f.stem, f"{folder}/{f.name}", "html") for f in sorted((corpora / folder).glob("*.html"))]


def _clients(_corpora: Path) -> list[Case]:
    """Reply forms of real clients the upstream corpora lack: wrapped and verb-less attributions in many locales,
    mobile sign-offs above unquoted history (issue 16). Each input's first ``%% `` lines name the client form."""
    return [Case("clients", f.stem, f.name, "text", local=True) for f in sorted(CLIENTS.glob("*.txt"))]


CORPORA: dict[str, Callable[[Path], list[Case]]] = {
    "talon": _talon,
    # email_long_quote (750 kB, no upstream expectation) is covered by the performance test instead
    "email_reply_parser": _txt("email_reply_parser", "email_reply_parser/test/emails", frozenset({"email_long_quote"})),
    "zapier-email-reply-parser": _txt("zapier-email-reply-parser", "zapier-email-reply-parser/test/emails"),
    "mail-parser-reply": _txt("mail-parser-reply", "mail-parser-reply/test/emails"),
    "quotequail": _quotequail,
    "clients": _clients,
}


def all_cases(corpora: Path) -> list[Case]:
    cases: list[Case] = []
    for find in CORPORA.values():
        cases.extend(find(corpora))
    return cases


def read_expected(case: Case) -> tuple[list[str], str] | None:
    """(note lines, expected text) or None when the case has no expected file yet."""
    if not case.expected_path.exists():
        return None
    lines = case.expected_path.read_text(encoding="utf-8").split("\n")
    notes: list[str] = []
    while lines and lines[0].startswith(NOTE):
        notes.append(lines.pop(0))
    return notes, "\n".join(lines).rstrip("\n")


def write_expected(case: Case, actual: str) -> None:
    existing = read_expected(case)
    notes = existing[0] if existing else [f"{NOTE}source: {case.source} ({case.part})"]
    case.expected_path.parent.mkdir(parents=True, exist_ok=True)
    case.expected_path.write_text("\n".join([*notes, actual]) + "\n", encoding="utf-8")
