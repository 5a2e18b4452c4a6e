"""Helpers shared by the service starters: free ports, waiting with a deadline, process clean-up."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class ServiceUnavailable(RuntimeError):
    """A real server needed by the tests could not be started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_binary(path_or_name: str, package: str) -> str:
    found = path_or_name if os.path.isfile(path_or_name) else shutil.which(path_or_name)
    if not found:
        raise ServiceUnavailable(
            f"{path_or_name} is not installed; install the Debian package '{package}' (see .ci/run)"
        )
    return found


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # the server is not up yet
            last_error = exc
        time.sleep(0.05)
    tail = ""
    if log is not None and log.exists():
        tail = "\n--- log tail ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    raise ServiceUnavailable(f"{what} did not become ready within {timeout:.0f}s ({last_error}){tail}")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Processes:
    """Background processes started for a service; stopped in reverse order."""

    items: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, argv: list[str], log: Path, **kwargs: object) -> subprocess.Popen[bytes]:
        handle = open(log, "ab")  # noqa: SIM115 - kept open for the life of the process
        proc = subprocess.Popen(
            argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs
        )  # type: ignore[call-overload]  # **kwargs: Popen options
        self.items.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.items):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.items):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.items.clear()


def chown(path: Path, user: str, group: str | None = None) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user, group)
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                shutil.chown(os.path.join(root, name), user, group)
