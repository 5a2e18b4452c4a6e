"""``python manage.py jemh SUBCOMMAND``: the project's command-line entry point (see jemh/cli)."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from jemh.cli import SUBCOMMANDS


class Command(BaseCommand):
    help = "JEMH mail handler commands: " + ", ".join(sorted(SUBCOMMANDS))

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for name, module_path in sorted(SUBCOMMANDS.items()):
            try:
                module = importlib.import_module(module_path)
            except ModuleNotFoundError as exc:
                if exc.name and module_path.startswith(exc.name):
                    continue  # not built yet
                raise
            sub_parser = sub.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(sub_parser)
            sub_parser.set_defaults(_module=module)

    def handle(self, *args: Any, **options: Any) -> None:
        module = options.pop("_module")
        code = module.run(options, self.stdout, self.stderr)
        if code:
            sys.exit(code)
