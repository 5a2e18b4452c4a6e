"""Settings imported by mypy's django-stubs plugin: the project's settings, with every embedded default that
would write a file (secret key, encryption and index keys, Celery and outbox folders under ``var/``) replaced,
so type checking a fresh clone creates nothing in it. Not for running the application."""

import os
import sys
import tempfile
from pathlib import Path

if "mypy" not in sys.modules:  # its fixed keys must never serve a running application
    raise ImportError("jemh.settings_typecheck is only for mypy's django-stubs plugin; use jemh.settings")

# One fixed folder, reused by every run (mypy ends with os._exit, so a per-run folder could not be removed).
# With the variables below nothing is written into it; only the folder itself is created.
os.environ["JEMH_VAR_DIR"] = str(Path(tempfile.gettempdir()) / "jemh-typecheck")
os.environ["JEMH_PRODUCTION"] = "false"
os.environ["SECRET_KEY"] = "typecheck-only-" + "x" * 50
os.environ["JEMH_ENCRYPTION_KEYS"] = "dHlwZWNoZWNrLW9ubHktbm90LWEtcmVhbC1rZXkxMjM="
os.environ["JEMH_INDEX_KEY"] = "typecheck-only-" + "y" * 50
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ["EMAIL_URL"] = "dummymail://"

from jemh.settings import *  # noqa: F403
