"""The benchmark's realistic mailbox (bench/mailbox.py): deterministic, shaped as promised, and processed under the
benchmark's profile every reply becomes a comment on its request's issue."""

from __future__ import annotations

from collections import Counter
from email import message_from_bytes, policy

import pytest

from bench.inbound import setup_data
from bench.inbound_checks import against_truth, results
from bench.mailbox import AUTOMATED, generate
from inbound.capture import capture
from inbound.models import Source
from inbound.pipeline.service import process_inbound_group


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    first = [m.raw for m in generate(60, seed=3)]
    assert first == [m.raw for m in generate(60, seed=3)]
    assert first != [m.raw for m in generate(60, seed=4)]


def test_the_mix_of_requests_replies_automated_mail_attachments_and_languages() -> None:
    mails = list(generate(400, seed=11))
    kinds = Counter("automated" if m.kind in AUTOMATED else m.kind for m in mails)
    assert kinds == {"request": 180, "reply": 180, "automated": 40}
    assert sum(1 for m in mails if m.attachments or m.inline_images) == 60
    assert any(m.inline_images for m in mails)
    assert {m.language for m in mails} >= {"en", "de", "fr", "ja"}
    assert {m.client for m in mails if m.kind == "reply"} >= {"outlook", "owa", "gmail", "apple", "plain"}
    assert len({m.message_id for m in mails}) == len(mails)
    by_position = {m.position: m for m in mails}
    quick = 0
    for reply in (m for m in mails if m.kind == "reply"):
        request, parent = by_position[reply.request_position], by_position[reply.parent_position]
        assert request.kind == "request" and request.position < reply.position and parent.position < reply.position
        parsed = message_from_bytes(reply.raw, policy=policy.default)
        assert parsed["In-Reply-To"].strip() == f"<{parent.message_id}>"
        assert f"<{request.message_id}>" in parsed["References"]
        assert str(parsed["Subject"]).endswith(str(message_from_bytes(request.raw, policy=policy.default)["Subject"]))
        quick += reply.position - request.position < 25
    assert 20 <= quick <= 100  # some replies follow their request within one capture chunk


def test_japanese_mail_is_iso_2022_jp_with_encoded_words() -> None:
    japanese = [m for m in generate(400, seed=11) if m.language == "ja" and m.client != "gmail"]
    assert japanese
    raw = japanese[0].raw
    assert b'charset="iso-2022-jp"' in raw and b"=?iso-2022-jp?b?" in raw.lower()
    assert raw.isascii()


@pytest.mark.django_db(transaction=True)
def test_processed_under_the_benchmarks_profile_replies_become_comments_on_their_requests_issue() -> None:
    source = Source.objects.get(pk=setup_data("127.0.0.1", 1))
    truth, ids = [], []
    for mail in generate(150, seed=5):
        truth.append(mail.truth())
        ids.append(capture(source, mail.raw, key=f"uid:{mail.position}").message.pk)
    for start in range(0, len(ids), 25):  # in mailbox order, as one worker would
        process_inbound_group(ids[start : start + 25])
    checked = against_truth(truth, poll_size=500)
    assert checked["unexpected_outcomes"] == {}
    assert checked["thread_splits"] == checked["misthreaded_replies"] == checked["not_captured"] == 0
    assert checked["replies"] == 67
    overall = results(poll_started=0.0)
    assert overall["without_outcome"] == 0 and overall["doubles"] == 0
    assert overall["comments"] == 67 and overall["issues"] == 68
