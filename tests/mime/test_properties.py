"""Property-based: mutated real messages never make ``parse`` raise."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.mime import ParsedMessage, parse
from tests.conftest import SHARED
from tests.mime.corpus import message_files

SEEDS = [p.read_bytes()[:200_000] for p in message_files(SHARED / "corpora")[::6]] if SHARED.is_dir() else []
SEEDS = SEEDS or [b"From: a@example.com\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n"]
FAST = settings(
    max_examples=int(os.environ.get("JEMH_HYPOTHESIS_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _mutate(raw: bytes, kind: int, at: float, blob: bytes) -> bytes:
    pos = int(len(raw) * at)
    if kind == 0:
        return raw[:pos]  # truncate
    if kind == 1:
        return raw[:pos] + bytes([raw[pos] ^ 0xFF]) + raw[pos + 1 :] if pos < len(raw) else raw  # flip a byte
    if kind == 2:
        return raw.replace(b"boundary=", b"boundary=broken", 1).replace(b"--", b"-", 3)  # break boundaries
    if kind == 3:
        head = raw[:pos].split(b"\n")
        return b"\n".join(head + head[:5]) + raw[pos:]  # duplicate lines (headers)
    if kind == 4:
        return raw[:pos] + blob * 2000 + raw[pos:]  # absurd lengths
    return raw[:pos] + blob + raw[pos:]  # insert junk


@FAST
@given(seed=st.sampled_from(SEEDS), kind=st.integers(0, 5), at=st.floats(0, 1), blob=st.binary(min_size=1, max_size=40))
def test_mutated_messages_never_raise(seed: bytes, kind: int, at: float, blob: bytes) -> None:
    message = parse(_mutate(seed, kind, at, blob))
    assert isinstance(message, ParsedMessage)
    message.to_dict()


@FAST
@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert isinstance(parse(raw), ParsedMessage)


@FAST
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Type: multipart/mixed; boundary=a\r\n",
                b"--a\r\n",
                b"--a--\r\n",
                b"\r\n",
                b"=?utf-8?b?w6k=?=",
                b"Content-Transfer-Encoding: base64\r\n",
                b"Content-Type: message/rfc822\r\n",
                b"begin 644 x\r\n",
                b"end\r\n",
                b"Subject: ",
                b"filename*0*=utf-8''%C3",
                b"\xff\xfe",
                b"Content-Type: application/ms-tnef\r\n",
            ]
        ),
        max_size=60,
    )
)
def test_structural_fragments_never_raise(chunks: list[bytes]) -> None:
    assert isinstance(parse(b"".join(chunks)), ParsedMessage)


def test_seeds_exist_when_shared_is_present() -> None:
    if Path(SHARED).is_dir():
        assert len(SEEDS) > 20
