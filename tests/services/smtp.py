"""An in-process SMTP server (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.services.base import free_port


@dataclass
class ReceivedMail:
    envelope_from: str
    envelope_to: list[str]
    data: bytes
    authenticated_as: str | None = None  # the user an AUTH XOAUTH2 signed in, if any

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
    #: checks an AUTH XOAUTH2 login (user, bearer token); None refuses every one
    oauth_check: Callable[[str, str], bool] | None = None
    oauth_attempts: list[str] = field(default_factory=list)  # the users of every XOAUTH2 attempt

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 with an initial response: ``user=U^Aauth=Bearer T^A^A``, base64-encoded."""
        try:
            blob = args[1] if len(args) > 1 else ""
            fields = dict(part.split("=", 1) for part in base64.b64decode(blob).decode().split("\x01") if "=" in part)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return AuthResult(success=False, handled=False)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        self.oauth_attempts.append(user)
        if self.oauth_check is not None and self.oauth_check(user, token):
            return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False, message="535 5.7.8 token refused (test)")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 temporarily refusing mail (test)"
        with self.lock:
            self.received.append(
                ReceivedMail(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                    session.auth_data if session.authenticated else None,
                )
            )
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
        self.oauth_check = None
        self.oauth_attempts.clear()

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
    sink.controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=sink.port,
        decode_data=False,
        auth_require_tls=False,  # AUTH XOAUTH2 in tests
    )
    sink.controller.start()
    return sink
