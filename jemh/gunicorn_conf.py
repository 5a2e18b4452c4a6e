"""gunicorn's configuration for the web process (``gunicorn -c python:jemh.gunicorn_conf jemh.wsgi``).

Read from the environment, with defaults for one small host:

- ``JEMH_BIND`` (default ``127.0.0.1:8000``; the image sets ``0.0.0.0:8000``): where the web process listens.
- ``WEB_CONCURRENCY`` (default 2): worker processes. The admin and the webhooks are light: two sync workers
  serve a team; add one per core for busy Jira webhooks (each worker holds its own database connection).
- ``JEMH_WEB_TIMEOUT`` (default 60 s): a request running longer is ended and its worker restarted.

gunicorn's control socket (on by default since 25.1) is switched off: nothing here uses ``gunicornc``, and a
non-root container user cannot create it in its default place.
"""

from __future__ import annotations

import os

bind = [os.environ.get("JEMH_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("JEMH_WEB_TIMEOUT", "60"))
graceful_timeout = 30
# Access log on stdout (the PII filter does not see gunicorn's own lines: they carry the path only, no query string).
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
# /dev/shm for the worker heartbeat files: a container's /tmp may be a slow overlay.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
control_socket_disable = True  # --no-control-socket (gunicorn 25.1 and later)
