#!/bin/sh
# The image's entry point: runs one role.
#
#   web              gunicorn (jemh/gunicorn_conf.py: JEMH_BIND, WEB_CONCURRENCY)
#   worker           the Celery worker (JEMH_WORKER_CONCURRENCY, default 2)
#   beat             the Celery beat scheduler (one per installation)
#   migrate          apply migrations, then create the first admin user if none exists (prints its password once)
#   manage ARGS...   python manage.py ARGS... (e.g. `manage jemh deliver --source mta`)
#   anything else    run as given
#
# Secrets (NAME_FILE=PATH, e.g. SECRET_KEY_FILE=/run/secrets/secret_key) are read when the settings load
# (jemh/secret_files.py), so `docker compose exec web python manage.py ...` sees them too.
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$role" in
  web)
    exec gunicorn --config python:jemh.gunicorn_conf "$@" jemh.wsgi ;;
  worker)
    exec celery -A jemh worker --loglevel "${LOG_LEVEL:-INFO}" --concurrency "${JEMH_WORKER_CONCURRENCY:-2}" \
      --hostname "worker@%h" "$@" ;;
  beat)
    exec celery -A jemh beat --loglevel "${LOG_LEVEL:-INFO}" \
      --scheduler inbound.heartbeat:HeartbeatScheduler --pidfile= "$@" ;;
  migrate)
    python manage.py migrate --noinput
    exec python manage.py jemh bootstrap "$@" ;;
  manage)
    exec python manage.py "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
