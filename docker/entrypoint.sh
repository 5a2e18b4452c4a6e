#!/bin/sh
# The image's entry point: reads *_FILE secrets, then runs one role.
#
#   web              gunicorn (jemh/gunicorn_conf.py: JEMH_BIND, WEB_CONCURRENCY)
#   worker           the Celery worker (JEMH_WORKER_CONCURRENCY, default 2)
#   beat             the Celery beat scheduler (one per installation)
#   migrate          apply migrations, then create the first admin user if none exists (prints its password once)
#   manage ARGS...   python manage.py ARGS... (e.g. `manage jemh deliver --source mta`)
#   anything else    run as given
#
# Secrets: for every variable NAME_FILE=PATH, NAME is set to the file's content (trailing newlines dropped), as the
# official database images do, so that compose secrets never appear in the environment of `docker inspect`.
set -eu

for name in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)_FILE=.*/\1/p'); do
  file="$(printenv "${name}_FILE")"
  if printenv "$name" >/dev/null 2>&1; then
    echo "jemh: both $name and ${name}_FILE are set; set only one" >&2
    exit 2
  fi
  if [ ! -r "$file" ]; then
    echo "jemh: ${name}_FILE=$file is not a readable file (user $(id -u) must read it)" >&2
    exit 2
  fi
  value="$(cat "$file")"
  export "$name=$value"
  unset "${name}_FILE"
done

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
      --scheduler django_celery_beat.schedulers:DatabaseScheduler --pidfile= "$@" ;;
  migrate)
    python manage.py migrate --noinput
    exec python manage.py jemh bootstrap "$@" ;;
  manage)
    exec python manage.py "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
