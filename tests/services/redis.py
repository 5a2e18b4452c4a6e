"""A throwaway Redis server on a free loopback port."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.services.base import Processes, free_port, port_open, require_binary, wait_until


@dataclass
class Redis:
    root: Path
    port: int
    processes: Processes = field(default_factory=Processes)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.processes.stop()

    def restart(self) -> None:
        """Stop the server and start it again on the same port: without persistence, every queue is gone."""
        self.stop()
        _launch(self)


def start_redis(root: Path) -> Redis:
    root.mkdir(parents=True, exist_ok=True)
    server = Redis(root=root, port=free_port())
    _launch(server)
    return server


def _launch(server: Redis) -> None:
    binary = require_binary("redis-server", "redis-server")
    root = server.root
    server.processes.start(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(root),
            "--daemonize",
            "no",
        ],
        root / "redis.log",
    )
    wait_until(lambda: port_open(server.port), 20, "Redis", root / "redis.log")
