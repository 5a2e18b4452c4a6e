"""Create the first admin user when none exists, printing a one-time password."""

from __future__ import annotations

import argparse
import secrets
from typing import Any, TextIO

from django.contrib.auth import get_user_model

HELP = "create an admin user if none exists (prints its one-time password)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default="admin")
    parser.add_argument("--email", default="admin@localhost")


def run(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    users = get_user_model()
    existing = users.objects.filter(is_superuser=True).order_by("pk").first()
    if existing is not None:
        out.write(
            "An admin user already exists; nothing to do. Lost its password? Set a new one with:\n"
            f"    python manage.py changepassword {existing.get_username()}\n"
        )
        return 0
    password = secrets.token_urlsafe(12)
    users.objects.create_superuser(options["username"], options["email"], password)
    out.write(
        "\n" + "=" * 64 + "\n"
        f"  Admin user created: {options['username']}\n"
        f"  One-time password:  {password}\n"
        "  Log in at http://127.0.0.1:8000/admin/ and change it (it is shown only once).\n"
        f"  Lost it? Set a new one: python manage.py changepassword {options['username']}\n" + "=" * 64 + "\n\n"
    )
    return 0
