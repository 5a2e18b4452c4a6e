"""A throwaway PostgreSQL cluster (initdb + pg_ctl), on a free loopback port."""

from __future__ import annotations

import glob
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.services.base import ServiceUnavailable, chown, free_port


def _bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates:
        raise ServiceUnavailable("PostgreSQL is not installed; install the Debian package 'postgresql'")
    return Path(candidates[0]).parent


@dataclass
class Postgres:
    root: Path
    port: int
    bindir: Path
    durable: bool = False  # True: PostgreSQL's own defaults (fsync, synchronous_commit, full_page_writes on)
    settings: dict[str, str] = field(default_factory=dict)  # more -c options (e.g. a fault test's WAL timing)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def start(self) -> None:
        data = self.root / "data"
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "sock").mkdir(exist_ok=True)
        chown(self.root, "postgres", "postgres")
        run = lambda argv: subprocess.run(  # noqa: E731
            self._as_postgres(argv), cwd="/", capture_output=True, text=True, timeout=120
        )
        result = run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        if result.returncode:
            raise ServiceUnavailable(f"initdb failed: {result.stderr.strip()}")
        self.start_again()

    def start_again(self) -> None:
        """Start the cluster made by ``start`` after a ``stop`` (crash recovery runs if it was stopped hard)."""
        data = self.root / "data"
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root / 'sock'} -c max_connections=200"
        if not self.durable:  # the test suite's speed-ups: a crash may lose committed transactions
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
        result = subprocess.run(
            self._as_postgres(
                [
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(self.root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    options,
                    "start",
                ]
            ),
            cwd="/",
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise ServiceUnavailable(f"PostgreSQL did not start: {result.stderr.strip()}\n{log}")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server: ``immediate`` as in a crash (the default), ``fast`` as an admin's restart."""
        subprocess.run(
            self._as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode, "-w", "stop"]),
            cwd="/",
            capture_output=True,
            timeout=60,
        )


def start_postgres(root: Path, *, durable: bool = False, settings: dict[str, str] | None = None) -> Postgres:
    """A started cluster under ``root``; ``durable`` keeps PostgreSQL's default durability (benchmarks);
    ``settings`` are more server options (``-c name=value``)."""
    server = Postgres(root=root, port=free_port(), bindir=_bindir(), durable=durable, settings=settings or {})
    server.start()
    return server
