"""What an admin pastes into their MTA for a pipe source: the delivery command, and the Postfix and Exim lines that
run it for each message (an alias, or a transport and the address routed to it)."""

from __future__ import annotations

import getpass
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from inbound.models import Source

# sysexits: EX_TEMPFAIL asks the MTA to keep the message and retry (capture failed); others bounce it.
EX_TEMPFAIL = 75


@dataclass(frozen=True)
class MtaSetup:
    """The lines to paste, each block ready as it stands (placeholders: the address and the account)."""

    command: str
    address: str
    postfix_alias: str
    postfix_transport: str
    postfix_transport_map: str
    exim_router: str
    exim_transport: str


def delivery_command(source: Source, *, python: str | None = None, manage: Path | None = None) -> str:
    """The command the MTA runs per message: this installation's Python and manage.py, and the source by name (and
    its instance's, when another instance has a source of the same name)."""
    python = python or sys.executable
    manage = manage or Path(settings.BASE_DIR) / "manage.py"
    words = [python, str(manage), "jemh", "deliver", "--source", source.name]
    if Source.objects.filter(name=source.name).exclude(instance_id=source.instance_id).exists():
        words += ["--instance", source.instance.name]
    return shlex.join(words)


def _address(source: Source) -> str:
    """The address mail for this source comes to: the profile's first plain catch address, else a placeholder."""
    if source.profile is not None:
        address = (
            source.profile.catch_addresses.filter(is_regex=False).order_by("pk").values_list("address", flat=True)
        ).first()
        if address:
            return str(address)
    return "support@example.com"


def mta_setup(source: Source, *, python: str | None = None, manage: Path | None = None) -> MtaSetup:
    command = delivery_command(source, python=python, manage=manage)
    address = _address(source)
    local_part, _, domain = address.partition("@")
    slug = re.sub(r"[^a-z0-9]+", "_", source.name.lower()).strip("_") or "source"
    account = getpass.getuser()
    transport = f"jemh_{slug}"
    return MtaSetup(
        command=command,
        address=address,
        postfix_alias=f'# /etc/aliases (then run: newaliases)\n{local_part}: "|{command}"',
        postfix_transport=(
            f"# /etc/postfix/master.cf\n{transport} unix - n n - - pipe\n  flags=DR user={account} argv={command}"
        ),
        postfix_transport_map=(
            f"# /etc/postfix/transport (then run: postmap /etc/postfix/transport; postfix reload)\n"
            f"{address} {transport}:"
        ),
        exim_router=(
            f"# routers section, before dnslookup\n{transport}:\n  driver = accept\n"
            f"  local_parts = {local_part}\n  domains = {domain}\n  transport = {transport}_pipe"
        ),
        exim_transport=(
            f"# transports section\n{transport}_pipe:\n  driver = pipe\n  command = {command}\n"
            f"  user = {account}\n  temp_errors = {EX_TEMPFAIL}\n  return_fail_output\n  log_output"
        ),
    )
