"""Subcommands of ``python manage.py jemh``.

Each subcommand lives in the app it belongs to, as a module with ``HELP`` (one line),
``add_arguments(parser)`` and ``run(options, out, err) -> int`` (the exit code). Register it here.
"""

from __future__ import annotations

SUBCOMMANDS: dict[str, str] = {
    "bootstrap": "jemh.cli.bootstrap",
    "inspect": "inbound.mime.cli",
    "deliver": "inbound.cli.deliver",
    "jira": "inbound.cli.jira",
    "demo": "inbound.cli.demo",
    "purge": "auditing.cli.purge",
    "rekey": "jemh.cli.rekey",
    "health": "inbound.cli.health",
    "subject": "auditing.cli.subject",
}
