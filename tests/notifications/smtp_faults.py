"""SMTP servers that fail the way real ones do: none listening, one that greets with 421 and hangs up, one that
refuses recipients, and one that drops the connection after it stored the message (before its final reply)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller

from tests.services.smtp import SmtpSink


def start_sink(sink: SmtpSink) -> SmtpSink:
    """Start ``sink`` (or a subclass) on its port, as ``tests.services.smtp.start_smtp`` does."""
    sink.controller = Controller(sink, hostname=sink.host, port=sink.port, decode_data=False)
    sink.controller.start()
    return sink


@dataclass
class DroppingSink(SmtpSink):
    """Stores the message, then closes the connection instead of answering ``250``: the client cannot know
    whether the mail was taken. ``drops`` is how many messages get that treatment (``-1``: all)."""

    drops: int = -1

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.drops:
            self.drops -= 1
            server.transport.close()
        return reply


@dataclass
class RcptRefusingSink(SmtpSink):
    """Answers ``550`` to every recipient: the message is refused for good."""

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return "550 5.1.1 no such user (test)"


class GreetingRefuser:
    """A server that answers every connection with ``421`` (service not available) and hangs up; it counts the
    connections, so a test can tell how often a down server was tried."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.listener.settimeout(0.05)
        self.connections = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.sendall(b"421 4.3.2 down for maintenance (test)\r\n")

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.listener.close()


@contextmanager
def greeting_refuser() -> Iterator[GreetingRefuser]:
    server = GreetingRefuser()
    try:
        yield server
    finally:
        server.stop()
