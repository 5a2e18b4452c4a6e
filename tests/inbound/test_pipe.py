"""``jemh deliver --source NAME < message``: captured once, with exit codes an MTA understands."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from django.core.management import call_command

from inbound.cli import deliver
from inbound.models import InboundMessage, Outcome, Source, SourceKind
from jemh.storage import blob_storage
from tests.inbound.conftest import Worker, make_message

pytestmark = pytest.mark.django_db


def run(raw: bytes, **options: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = deliver.run({"source": "mta", "instance": None, **options}, out, err, stream=io.BytesIO(raw))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def pipe(instance: Any) -> Source:
    return Source.objects.create(instance=instance, name="mta", kind=SourceKind.PIPE, max_message_size=10_000)


def test_captured_then_recognised(pipe: Source) -> None:
    raw = make_message(subject="via MTA")
    code, out, _ = run(raw)
    assert code == 0 and "captured as inbound message" in out
    row = InboundMessage.objects.get()
    assert row.subject == "via MTA" and blob_storage().read_bytes(row.raw_blob) == raw
    code, out, _ = run(raw)  # the MTA delivered it again
    assert code == 0 and "already captured" in out and InboundMessage.objects.count() == 1


def test_oversized_is_recorded_and_accepted(pipe: Source) -> None:
    code, out, _ = run(make_message(subject="huge", body="q" * 50_000))
    row = InboundMessage.objects.get()
    assert code == 0 and "too large" in out
    assert row.outcome == Outcome.REJECTED and row.subject == "huge" and row.size > 50_000


def test_permanent_errors(pipe: Source, instance: Any) -> None:
    code, _, err = run(make_message(), source="nope")
    assert code == deliver.EX_CONFIG and "no mail source named 'nope'" in err
    Source.objects.create(instance=instance, name="imapbox", kind=SourceKind.IMAP)
    code, _, err = run(make_message(), source="imapbox")
    assert code == deliver.EX_CONFIG and "not an MTA pipe source" in err
    code, _, err = run(b"   \r\n")
    assert code == deliver.EX_NOINPUT and "no message" in err
    assert not InboundMessage.objects.exists()


def test_temporary_errors_keep_the_mail_at_the_mta(pipe: Source, settings: Any, tmp_path: Any) -> None:
    pipe.enabled = False
    pipe.save()
    code, _, err = run(make_message())
    assert code == deliver.EX_TEMPFAIL and "disabled" in err
    pipe.enabled = True
    pipe.save()
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": "jemh.storage.EncryptedStorage",
            "OPTIONS": {
                "backend": {
                    "BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(blocked)},
                }
            },
        },
    }
    code, _, err = run(make_message())
    assert code == deliver.EX_TEMPFAIL and "could not store" in err and "retry" in err
    assert not InboundMessage.objects.exists()


def test_through_the_management_command(pipe: Source, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(make_message(subject="cmd"))))
    call_command("jemh", "deliver", "--source", "mta", stdout=io.StringIO())
    assert InboundMessage.objects.get().subject == "cmd"
    with pytest.raises(SystemExit) as exit_info:
        call_command("jemh", "deliver", "--source", "missing", stdout=io.StringIO(), stderr=io.StringIO())
    assert exit_info.value.code == deliver.EX_CONFIG


def test_exit_codes_of_the_real_command(worker: Worker, tmp_path: Any) -> None:
    """As an MTA runs it: a separate process, the message on stdin, only the exit code and stderr seen."""
    made = worker.call("setup", "pipe", "--name", "real-mta", "--instance", "Pipe test")
    command = ("manage.py", "jemh", "deliver", "--source", "real-mta")
    raw = make_message(subject="from postfix")
    first, again = worker.run(*command, input=raw), worker.run(*command, input=raw)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr.decode()
    unknown = worker.run("manage.py", "jemh", "deliver", "--source", "nobody", input=raw)
    assert unknown.returncode == 78 and b"no mail source named 'nobody'" in unknown.stderr
    blocked = tmp_path / "var"
    blocked.mkdir()
    (blocked / "blobs").write_text("a file where the blob directory should be")
    failing = worker.run(*command, input=make_message(subject="other"), extra_env={"JEMH_VAR_DIR": str(blocked)})
    assert failing.returncode == 75, failing.stderr.decode()
    assert b"temporary failure" in failing.stderr
    report = worker.call("report", str(made["source_id"]))
    assert len(report["rows"]) == 1 and report["rows"][0]["status"] == "received"
