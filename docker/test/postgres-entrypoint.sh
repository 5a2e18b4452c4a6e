#!/bin/sh
# The stand-in PostgreSQL's start: a new cluster on first start (user, database and password as the official image
# makes them), then the server in the foreground.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  password="$(cat "${POSTGRES_PASSWORD_FILE:?}")"
  pwfile="$(mktemp)"
  printf '%s\n' "$password" > "$pwfile"
  initdb -D "$PGDATA" -U "${POSTGRES_USER:?}" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  postgres -D "$PGDATA" -c listen_addresses='' -k /var/run/postgresql &
  pid=$!
  until pg_isready -q -h /var/run/postgresql -U "$POSTGRES_USER"; do sleep 0.2; done
  createdb -h /var/run/postgresql -U "$POSTGRES_USER" "${POSTGRES_DB:-$POSTGRES_USER}"
  kill "$pid"
  wait "$pid" || true
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -k /var/run/postgresql
