"""A throwaway Dovecot (IMAP, POP3 and LMTP) with plain-text users, on free loopback ports."""

from __future__ import annotations

import imaplib
import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.services.base import Processes, chown, free_port, port_open, require_binary, wait_until

CONFIG = """\
protocols = imap pop3 lmtp
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
mail_fsync = never
mail_location = maildir:{root}/mail/%u/Maildir
pop3_uidl_format = %08Xu%08Xv
protocol lmtp {{
  postmaster_address = postmaster@example.test
}}
{oauth2_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
"""


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    pop3_port: int
    lmtp_port: int
    processes: Processes = field(default_factory=Processes)
    host: str = "127.0.0.1"

    @property
    def users_file(self) -> Path:
        return self.root / "users"

    def add_user(self, username: str, password: str) -> None:
        """Add (or replace) a mailbox user; Dovecot re-reads the passwd-file when it changes."""
        lines = [
            line for line in self.users_file.read_text().splitlines() if line and not line.startswith(f"{username}:")
        ]
        lines.append(f"{username}:{{PLAIN}}{password}")
        self.users_file.write_text("\n".join(lines) + "\n")
        mail = self.root / "mail"
        mail.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            chown(mail, "nobody", "nogroup")

    def imap(self, username: str, password: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.imap_port)
        client.login(username, password)
        return client

    def stop(self) -> None:
        self.processes.stop()


OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
"""


def start_dovecot(root: Path, oauth2: str = "") -> Dovecot:
    """Start Dovecot; with ``oauth2`` (the text of its ``oauth2.conf.ext``: local JWT validation or introspection
    at an OpenID provider) it also takes XOAUTH2 and OAUTHBEARER logins, checked by its ``oauth2`` passdb."""
    binary = require_binary("/usr/sbin/dovecot", "dovecot-imapd dovecot-pop3d dovecot-lmtpd")
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    server = Dovecot(root=root, imap_port=free_port(), pop3_port=free_port(), lmtp_port=free_port())
    user, group = ("nobody", "nogroup") if os.geteuid() == 0 else (str(os.getuid()), str(os.getgid()))
    conf = CONFIG.format(
        root=root,
        uid=user,
        gid=group,
        imap_port=server.imap_port,
        pop3_port=server.pop3_port,
        lmtp_port=server.lmtp_port,
        oauth2_mechanisms=" xoauth2 oauthbearer" if oauth2 else "",
        oauth2_passdb=OAUTH2_PASSDB.format(root=root) if oauth2 else "",
    )
    if oauth2:
        (root / "oauth2.conf.ext").write_text(oauth2)
    if os.geteuid() != 0:
        conf += (
            "default_internal_user = {u}\ndefault_login_user = {u}\n"
            "service anvil {{\n  chroot =\n}}\nservice imap-login {{\n  chroot =\n}}\n"
            "service pop3-login {{\n  chroot =\n}}\n"
        ).format(u=os.environ.get("USER", "nobody"))
    (root / "dovecot.conf").write_text(conf)
    server.users_file.write_text("")
    if os.geteuid() == 0:
        chown(root / "mail", "nobody", "nogroup")
    server.processes.start([binary, "-F", "-c", str(root / "dovecot.conf")], root / "dovecot.out")
    wait_until(lambda: port_open(server.imap_port) and port_open(server.pop3_port), 20, "Dovecot", root / "dovecot.log")
    return server
