"""``make run``'s process runner: the Procfile's web, worker and beat under honcho, in the foreground.

Ctrl-C is how a person stops them, so it ends the run with status 0 (make then prints no "Error 130"); any other
failure keeps its status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

INTERRUPTED = {130, -signal.SIGINT}


def main(argv: list[str]) -> int:
    venv_bin = Path(sys.executable).parent
    honcho = venv_bin / "honcho"
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}  # the Procfile's commands
    interrupted = False

    def note_interrupt(signum: int, frame: object) -> None:  # the terminal sent SIGINT to honcho too; it stops all
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, note_interrupt)  # a handler, not SIG_IGN: children still get the default
    status = subprocess.run([str(honcho), "start", *argv], check=False, env=env).returncode
    if interrupted and status in INTERRUPTED | {0}:
        print("\n==> stopped (Ctrl-C)")
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
