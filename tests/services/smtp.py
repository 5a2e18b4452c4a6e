"""An in-process SMTP server (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.services.base import free_port


@dataclass
class ReceivedMail:
    envelope_from: str
    envelope_to: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class SmtpSink:
    port: int
    host: str = "127.0.0.1"
    received: list[ReceivedMail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    controller: Controller | None = None
    refuse: bool = False  # answer 451 to every message (a server that is "down" for mail)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 temporarily refusing mail (test)"
        with self.lock:
            self.received.append(
                ReceivedMail(
                    envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)
                )
            )
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        with self.lock:
            return list(self.received)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


def start_smtp() -> SmtpSink:
    sink = SmtpSink(port=free_port())
    sink.controller = Controller(sink, hostname="127.0.0.1", port=sink.port, decode_data=False)
    sink.controller.start()
    return sink
