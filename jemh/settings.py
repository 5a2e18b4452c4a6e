"""Django settings, read from the environment (django-environ) with embedded defaults.

A fresh clone needs no configuration: SQLite, blobs and a filesystem Celery broker under ``var/``,
outbound mail written as files under ``var/outbox/``. Every variable is listed in README.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

from jemh import config, secret_files
from jemh.crypto import derived_key
from jemh.crypto_keys import generated_keys, load_encryption_keys, load_index_key

BASE_DIR = Path(__file__).resolve().parent.parent
secret_files.load()  # NAME_FILE=PATH for the secret variables (container secrets; jemh/secret_files.py)
env = environ.Env()

VAR_DIR = Path(env.str("JEMH_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

PRODUCTION = config.boolean(env, "JEMH_PRODUCTION", False)

DEBUG = config.boolean(env, "DEBUG", False)
if PRODUCTION and DEBUG:
    raise config.fail("DEBUG", "is true while JEMH_PRODUCTION=true", "DEBUG unset or false in production")

SECRET_KEY = config.secret_key(env, PRODUCTION, VAR_DIR)
# Earlier secret keys, still accepted when verifying signatures (sessions, reply tokens); rotate by putting the old
# SECRET_KEY here.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise config.fail("ALLOWED_HOSTS", "is empty while JEMH_PRODUCTION=true", "a comma-separated host list")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

JEMH_ENCRYPTION_KEYS = load_encryption_keys(env, PRODUCTION, VAR_DIR)
# The key of the keyed hashes the database finds values by (jemh.crypto.keyed_hash); never SECRET_KEY, so rotating
# SECRET_KEY (old one in SECRET_KEY_FALLBACKS) changes no stored hash.
JEMH_INDEX_KEY = load_index_key(env, PRODUCTION, VAR_DIR)
# The keys above that were generated on this machine (the status dashboard warns about them).
JEMH_GENERATED_KEYS = generated_keys(env, VAR_DIR)
# Keyed hashes in logs; derived from JEMH_INDEX_KEY unless given.
JEMH_LOG_HASH_KEY = env.str("JEMH_LOG_HASH_KEY", default="") or derived_key(JEMH_INDEX_KEY, "log-hash")
JEMH_LOG_PII_HASHING = config.boolean(env, "JEMH_LOG_PII_HASHING", True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "rangefilter",
    "axes",
    "jemh",
    "profiles",
    "inbound",
    "trackers",
    "notifications",
    "auditing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files from STATIC_ROOT (collectstatic), before the rest
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditing.support.guard.SupportStaffOutsideAdmin",  # support staff never open the admin
    "axes.middleware.AxesMiddleware",  # last: it turns a locked-out sign-in into the lockout response
]

ROOT_URLCONF = "jemh.urls"
WSGI_APPLICATION = "jemh.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Templates live in their apps (package data of the wheel); site-wide overrides of other apps' templates
        # (e.g. admin/index.html, which the admin app would find first) in jemh/templates/, searched before them.
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": config.database(env, VAR_DIR / "jemh.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Admin sign-in (issue 14): django-axes throttles failed sign-ins per user name and, separately, per client
# address; a superuser unlocks from the admin (Axes → Access attempts: delete the rows) or with
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS` / `axes_reset`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out user name or address before any check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locked out is enough (not only the pair)
AXES_FAILURE_LIMIT = config.integer(env, "JEMH_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=config.integer(env, "JEMH_LOGIN_LOCKOUT_MINUTES", 15))
AXES_RESET_ON_SUCCESS = True  # a successful sign-in forgets that user's earlier failures
AXES_CLIENT_IP_CALLABLE = "jemh.signin.client_address"
# Keep no more personal data than the lockout needs: the attempts (expired after the cool-off), no log of every
# sign-in and no failure log.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_SENSITIVE_PARAMETERS = ["password"]
JEMH_BEHIND_PROXY = config.boolean(env, "JEMH_BEHIND_PROXY", False)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))

# Blobs (raw mail, outbound mail, attachments) always go through the encrypting storage; the
# backend underneath is the filesystem by default and S3 when JEMH_S3_BUCKET is set.
JEMH_BLOB_BACKEND = config.blob_storage(env, VAR_DIR)
# Further storages an instance may name for its blobs (residency, e.g. "eu" and "us"): see jemh.config.blob_storages.
JEMH_BLOB_STORAGES = config.blob_storages(env, VAR_DIR)
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    # Hashed, compressed names, served by whitenoise with a year's caching; needs `collectstatic` (the image runs it
    # at build, `make run` before starting).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    "blobs": {
        "BACKEND": "jemh.storage.EncryptedStorage",
        "OPTIONS": {"backend": JEMH_BLOB_BACKEND, "residencies": JEMH_BLOB_STORAGES},
    },
}

_email = config.email(env, VAR_DIR / "outbox")
EMAIL_BACKEND = _email.pop("EMAIL_BACKEND")
for _name, _value in _email.items():
    globals()[_name] = _value
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="jemh@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS, CELERY_RESULT_BACKEND = config.broker_url(env, VAR_DIR)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
# django-celery-beat's database scheduler, beating a heartbeat as it ticks (jemh health --role beat)
CELERY_BEAT_SCHEDULER = "inbound.heartbeat:HeartbeatScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Processing mail into Jira waits on Jira (50-500 ms a call): give it a queue of its own and a worker with a threads
# pool, so one process keeps many messages (and Jira calls) in flight (README "Jira"). Unset: the default queue.
JEMH_PROCESSING_QUEUE = env.str("JEMH_PROCESSING_QUEUE", default="")
if JEMH_PROCESSING_QUEUE:
    CELERY_TASK_ROUTES = {
        name: {"queue": JEMH_PROCESSING_QUEUE}
        for name in ("inbound.process_message", "inbound.process_messages", "inbound.drain_backlog")
    }

# Log lines: "plain" text, or "json" (one object per line: time, level, logger, pid, message, exc_info, extras).
JEMH_LOG_FORMAT = env.str("JEMH_LOG_FORMAT", default="plain").strip().lower()
if JEMH_LOG_FORMAT not in ("plain", "json"):
    raise config.fail("JEMH_LOG_FORMAT", f"{JEMH_LOG_FORMAT!r} is not a log format", "plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"pii": {"()": "jemh.logging.PiiHashingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {  # one JSON object per line, for log collectors; as PII-safe as the plain format
            "()": "jemh.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": JEMH_LOG_FORMAT, "filters": ["pii"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # imapclient logs every IMAP command and response (the mail itself) at DEBUG: held at INFO whatever LOG_LEVEL;
    # httpx logs every request at INFO, with its query string (Jira user searches carry e-mail addresses)
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "imapclient": {"level": "INFO"},
        "imapclient.imaplib": {"level": "INFO"},
        "axes.apps": {"level": "WARNING"},  # its start-up banner on every command
        "httpx": {"level": "WARNING"},
        "health_check": {"level": "ERROR"},  # a failing check's traceback on every probe: the reason is in the JSON
    },
}

# Security settings; in production these are on (see README "Production").
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = config.boolean(env, "SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = config.integer(env, "SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = config.boolean(env, "SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if JEMH_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- notifications (issue 6): outbound notification mail -------------------------------------------------------
# Host part of our Message-IDs (<jemh.{instance}.{ISSUE-KEY}.{random}@HOST>); inbound processing recognises
# replies to and loops of our mail by it. Default: the domain of DEFAULT_FROM_EMAIL ("jemh.invalid" when it has
# none, e.g. jemh@localhost). Keep old values in JEMH_MESSAGE_ID_PREVIOUS_DOMAINS when you change it.
JEMH_MESSAGE_ID_DOMAIN = env.str(
    "JEMH_MESSAGE_ID_DOMAIN",
    default=(lambda d: d if "." in d else "jemh.invalid")(DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >").lower()),
)
JEMH_MESSAGE_ID_PREVIOUS_DOMAINS = env.list("JEMH_MESSAGE_ID_PREVIOUS_DOMAINS", default=[])
# Events of one issue arriving within this many seconds are merged into one mail per recipient.
JEMH_NOTIFICATION_BATCH_WINDOW = config.integer(env, "JEMH_NOTIFICATION_BATCH_WINDOW", 60)
# Jira webhooks: the largest body accepted (a larger one is answered 413 and not stored).
JEMH_JIRA_WEBHOOK_MAX_BYTES = config.integer(env, "JEMH_JIRA_WEBHOOK_MAX_BYTES", 1024 * 1024)
# Jira: seconds an issue the backend read is served from the issue-state cache every worker shares (0: never). Our
# own writes and Jira's webhooks refresh it at once; a change in Jira without a webhook is seen after this long.
JEMH_JIRA_ISSUE_STATE_SECONDS = config.integer(env, "JEMH_JIRA_ISSUE_STATE_SECONDS", 300)
# Sending: attempts before a notification is marked failed, and the first retry delay (doubling, max 1 h).
JEMH_NOTIFICATION_MAX_ATTEMPTS = config.integer(env, "JEMH_NOTIFICATION_MAX_ATTEMPTS", 8)
JEMH_NOTIFICATION_RETRY_BASE = config.integer(env, "JEMH_NOTIFICATION_RETRY_BASE", 30)

# --- processing (issue 5) ------------------------------------------------------------------------------------------
# Process captured mail in the capturing process instead of queueing it for a worker (small installations, the MTA
# pipe without a worker). Default: queue it (the worker processes it; a sweep re-queues anything left waiting).
# A Slack-compatible incoming webhook: told of instance registrations and admins' feedback (privacy.md).
JEMH_CHAT_WEBHOOK_URL = config.http_url(env, "JEMH_CHAT_WEBHOOK_URL")
# This site's public base URL (https://jemh.example.com): links in alert mail ("sign in again") point at it.
JEMH_SITE_URL = config.http_url(env, "JEMH_SITE_URL")
JEMH_PROCESS_INLINE = config.boolean(env, "JEMH_PROCESS_INLINE", False)
# Each message's time budget in seconds: past the soft limit its processing is interrupted, past the hard limit the
# worker process ends itself (its claims are taken over). The group's other messages are released and go on; a
# message that overruns twice ends in error. Celery's time limits on the processing tasks are a backstop per group.
JEMH_PROCESSING_SOFT_LIMIT = config.integer(env, "JEMH_PROCESSING_SOFT_LIMIT", 120)
JEMH_PROCESSING_HARD_LIMIT = config.integer(env, "JEMH_PROCESSING_HARD_LIMIT", 150)
JEMH_PROCESSING_TASK_SOFT_LIMIT = config.integer(env, "JEMH_PROCESSING_TASK_SOFT_LIMIT", 900)
JEMH_PROCESSING_TASK_HARD_LIMIT = config.integer(env, "JEMH_PROCESSING_TASK_HARD_LIMIT", 960)
# A message that failed for a temporary reason is retried after this many seconds, doubling with each failure (one
# refused with a retry time, e.g. Jira's Retry-After, is retried after that time instead).
JEMH_RETRY_BASE_SECONDS = config.integer(env, "JEMH_RETRY_BASE_SECONDS", 30)
# Each worker process beats this often (seconds); a claim whose holder has not beaten for STALE seconds is taken over.
JEMH_WORKER_HEARTBEAT_SECONDS = config.integer(env, "JEMH_WORKER_HEARTBEAT_SECONDS", 10)
JEMH_WORKER_STALE_SECONDS = config.integer(env, "JEMH_WORKER_STALE_SECONDS", 30)
# Celery beat beats as it ticks (every 5 s at most); `jemh health --role beat` fails past this many seconds without.
JEMH_BEAT_STALE_SECONDS = config.integer(env, "JEMH_BEAT_STALE_SECONDS", 60)
# A reply whose request was captured but is not processed yet waits for it (while the request is retried, as long as
# that takes; one never tried, up to this many seconds from the reply's first wait); then it is processed anyway (and
# the report says why). The worker that finishes the request runs the reply
# next; RETRY seconds is when a reply tries again whose wake was missed.
JEMH_THREAD_WAIT_SECONDS = config.integer(env, "JEMH_THREAD_WAIT_SECONDS", 120)
JEMH_THREAD_WAIT_RETRY_SECONDS = config.integer(env, "JEMH_THREAD_WAIT_RETRY_SECONDS", 2)
# A worker's malloc arenas (glibc): a threads pool otherwise grows one per thread, each holding memory it cannot
# give back (jemh/malloc_arenas.py); 0 leaves glibc's default. MALLOC_ARENA_MAX in the environment wins.
JEMH_MALLOC_ARENAS = config.integer(env, "JEMH_MALLOC_ARENAS", 2)

# Celery's Django fix-up closes the database connection before every task unless this is set; reusing it for up to
# this many tasks (Django still drops it when it is broken or older than CONN_MAX_AGE) spares PostgreSQL a new
# backend (fork, authentication, catalog caches) per task.
CELERY_DB_REUSE_MAX = 1000

# --- operations (issue 18): metrics, the status JSON, logs, errors ----------------------------------------------
# /metrics (Prometheus): off unless enabled; with a token it wants "Authorization: Bearer TOKEN", without one it
# answers loopback clients only.
JEMH_METRICS_ENABLED = config.boolean(env, "JEMH_METRICS_ENABLED", False)
JEMH_METRICS_TOKEN = env.str("JEMH_METRICS_TOKEN", default="")
# /status.json (the admin dashboard's numbers, for monitoring): off unless a token is set.
JEMH_STATUS_TOKEN = env.str("JEMH_STATUS_TOKEN", default="")
# Container health checks and in-cluster scrapes come over plain HTTP: not redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^health$", r"^metrics$"]
# Errors to Sentry (optional: the `sentry` extra installs sentry-sdk); never with mail in them (jemh.errors).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from jemh.errors import init_sentry

    init_sentry(SENTRY_DSN, env.str("SENTRY_ENVIRONMENT", default="production" if PRODUCTION else "development"))

# --- Microsoft Graph (issue 17) -------------------------------------------------------------------------------------
# Graph's REST root (a national cloud has its own); tokens are asked for its ".default" scope. A request Graph
# throttles (429/503 with Retry-After) is retried after the time it asks for, up to MAX_WAIT seconds at a time and
# RETRIES times; longer waits end the poll, and the source backs off at least that long.
JEMH_GRAPH_URL = config.http_url(env, "JEMH_GRAPH_URL") or "https://graph.microsoft.com/v1.0"
JEMH_GRAPH_MAX_WAIT = config.integer(env, "JEMH_GRAPH_MAX_WAIT", 30)
JEMH_GRAPH_RETRIES = config.integer(env, "JEMH_GRAPH_RETRIES", 3)
