#!/usr/bin/env bash
# docker/test.sh: builds the image with podman and no network, validates and lints the docker/ files, starts the
# compose stack in order and checks it end to end; `down -v` at the end (or on any failure) leaves nothing behind.
# Run by .ci/run (and `make docker-test`); needs root, podman, docker-compose (Debian) and the dev venv (.venv).
# JEMH_DOCKER_KEEP=1 leaves a failed stack running (and says how to take it down) to look into it.
#
# Steps: the base image (docker/base.sh: cached after the first run), the wheelhouse (docker/wheelhouse.sh), hadolint,
# check-jsonschema (the compose-spec schema check-jsonschema vendors), `docker-compose config` and
# `podman-compose config`, the image build (--network=none), the test stand-ins for PostgreSQL and Redis
# (docker/test/: no registry here), then db and redis, migrate (waited for), web, worker and beat (podman-compose 1.x
# ignores depends_on conditions on podman 4, so the order is kept here), and the checks:
# readiness (/health/ready, or /health/ while it does not exist), a static file, each role's health check, a Celery
# ping of the worker, a mail delivered with `jemh deliver` in the web container becoming an issue.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="${JEMH_VENV_BIN:-$ROOT/.venv/bin}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/docker/containers.conf}"
BASE_IMAGE="${JEMH_BASE_IMAGE:-localhost/jemh-base:bookworm}"
IMAGE="localhost/jemh-mailhandler:test"
PROJECT="jemh-test"
STARTED=$SECONDS
WORK="$(mktemp -d /tmp/jemh-docker-test.XXXXXX)"

step() { echo "==> [$((SECONDS - STARTED)) s] $*"; }
fail() { echo "docker/test.sh: FAILED: $*" >&2; exit 1; }

for tool in podman docker-compose curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (see .ci/run's packages)"
done
for tool in podman-compose check-jsonschema hadolint; do
  [ -x "$BIN/$tool" ] || fail "$BIN/$tool is missing: run make install (the test extra)"
done

compose() { "$BIN/podman-compose" --project-name "$PROJECT" --env-file "$WORK/env" -f docker/compose.yaml "$@"; }
container() { echo "${PROJECT}_$1_1"; }  # podman-compose's container names

cleanup() {
  local code=$?
  if [ "$code" != 0 ] && [ -f "$WORK/env" ]; then
    for service in db redis migrate web worker beat; do
      podman container exists "$(container "$service")" || continue
      echo "--- logs of $service (last 40 lines)"
      podman logs --tail 40 "$(container "$service")" 2>&1 || true
    done
  fi
  if [ "$code" != 0 ] && [ "${JEMH_DOCKER_KEEP:-0}" = 1 ]; then
    echo "JEMH_DOCKER_KEEP=1: the stack is left running; take it down with:"
    echo "  $BIN/podman-compose --project-name $PROJECT --env-file $WORK/env -f docker/compose.yaml down -v"
    exit "$code"
  fi
  if [ -f "$WORK/env" ]; then
    compose down -v >"$WORK/down.log" 2>&1 || cat "$WORK/down.log"
  fi
  rm -rf "$WORK"
  exit "$code"
}
trap cleanup EXIT

step "base image"
bash docker/base.sh

step "wheelhouse (docker/wheelhouse)"
PYTHON="$BIN/python" bash docker/wheelhouse.sh docker/wheelhouse 2> >(grep -v "^WARNING: Location" >&2)

step "secrets and settings of the test stack in $WORK"
mkdir -p "$WORK/secrets"
new_secret() { "$BIN/python" -c "import secrets; print(secrets.token_urlsafe($1))"; }
new_secret 24 > "$WORK/secrets/db_password"
new_secret 50 > "$WORK/secrets/secret_key"
"$BIN/python" -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" \
  > "$WORK/secrets/encryption_keys"
new_secret 50 > "$WORK/secrets/index_key"
chmod 0644 "$WORK"/secrets/*  # read by the containers' own users (jemh, postgres)
PORT="$("$BIN/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")"
sed -e "s|^JEMH_HOSTNAME=.*|JEMH_HOSTNAME=jemh.test|" \
    -e "s|^JEMH_HTTP_PORT=.*|JEMH_HTTP_PORT=$PORT|" \
    -e "s|^JEMH_IMAGE=.*|JEMH_IMAGE=$IMAGE|" \
    -e "s|^JEMH_POSTGRES_IMAGE=.*|JEMH_POSTGRES_IMAGE=localhost/jemh-test-postgres:15|" \
    -e "s|^JEMH_REDIS_IMAGE=.*|JEMH_REDIS_IMAGE=localhost/jemh-test-redis:7|" \
    -e "s|^JEMH_SECRETS_DIR=.*|JEMH_SECRETS_DIR=$WORK/secrets|" \
    -e "s|^JEMH_WORKER_CONCURRENCY=.*|JEMH_WORKER_CONCURRENCY=1|" \
    -e "s|^WEB_CONCURRENCY=.*|WEB_CONCURRENCY=1|" \
    docker/.env.example > "$WORK/env"

step "lint: hadolint"
"$BIN/hadolint" docker/Dockerfile docker/test/postgres.Dockerfile docker/test/redis.Dockerfile

step "validate: check-jsonschema (compose-spec), docker-compose config, podman-compose config"
"$BIN/check-jsonschema" --builtin-schema vendor.compose-spec docker/compose.yaml
docker-compose --env-file "$WORK/env" -f docker/compose.yaml config -q
compose config > "$WORK/config.yaml"
grep -q "image: $IMAGE" "$WORK/config.yaml" || fail "podman-compose config did not resolve the image"
if grep -q -E '^\s+- .*:5432|^\s+- .*:6379' "$WORK/config.yaml"; then fail "a database port is published"; fi

step "build $IMAGE (no network, FROM $BASE_IMAGE)"
build_started=$SECONDS
# The build stage tagged too, so that tidying up (below) keeps it: it holds the cached dependency layer.
for target in build final; do
  if [ "$target" = build ]; then args=(--target build -t "$IMAGE-build"); else args=(-t "$IMAGE"); fi
  podman build --quiet --network=none --format docker --build-arg "BASE=$BASE_IMAGE" \
    -f docker/Dockerfile "${args[@]}" . >/dev/null
done
BUILD_SECONDS=$((SECONDS - build_started))
SIZE="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
step "image built in $BUILD_SECONDS s, $((SIZE / 1024 / 1024)) MiB"
[ "$(podman image inspect --format '{{.Config.User}}' "$IMAGE")" = "10001:10001" ] || fail "the image runs as root"
podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep healthcheck.py >/dev/null \
  || fail "the image has no HEALTHCHECK"

step "test stand-ins for PostgreSQL and Redis (Debian packages; cached after the first run)"
podman build --quiet --format docker --build-arg "BASE=$BASE_IMAGE" \
  -f docker/test/postgres.Dockerfile -t localhost/jemh-test-postgres:15 . >/dev/null
podman build --quiet --format docker --build-arg "BASE=$BASE_IMAGE" \
  -f docker/test/redis.Dockerfile -t localhost/jemh-test-redis:7 . >/dev/null

# Tidy podman's storage: earlier builds of these images (untagged now), not other projects' images.
podman image prune -f --filter label=io.jemh.image >/dev/null

# A stack left by an interrupted run.
compose down -v >/dev/null 2>&1 || true

healthy() { podman healthcheck run "$(container "$1")" >/dev/null 2>&1; }
wait_healthy() {
  local service="$1" deadline=$((SECONDS + $2))
  until healthy "$service"; do
    [ "$SECONDS" -lt "$deadline" ] || { podman healthcheck run "$(container "$service")" || true; \
      fail "$service did not become healthy in $2 s"; }
    sleep 1
  done
}

step "up: db, redis"
compose up -d db redis >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "compose up db redis"; }
wait_healthy db 90
wait_healthy redis 30

step "up: migrate (one-shot)"
compose up -d --no-deps migrate >>"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "compose up migrate"; }
code="$(podman wait "$(container migrate)")"
[ "$code" = 0 ] || fail "migrate exited $code"
podman logs "$(container migrate)" 2>&1 | grep "Admin user created: admin" >/dev/null || fail "migrate made no admin user"

step "up: web, worker, beat"
compose up -d --no-deps web worker beat >>"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "compose up"; }
wait_healthy web 90
wait_healthy worker 90
wait_healthy beat 60
for service in web worker beat; do
  [ "$(podman exec "$(container "$service")" id -u)" != 0 ] || fail "$service runs as root"
done

URL="http://127.0.0.1:$PORT"
get() { curl --silent --show-error --max-time 10 -H "Host: localhost" -H "X-Forwarded-Proto: https" "$@"; }

step "check: readiness"
status="$(get -o "$WORK/ready" -w '%{http_code}' "$URL/health/ready")"
if [ "$status" = 404 ]; then
  echo "    /health/ready does not exist yet: /health/ instead"
  status="$(get -o "$WORK/ready" -w '%{http_code}' "$URL/health/")"
fi
[ "$status" = 200 ] || fail "readiness answered $status: $(cat "$WORK/ready")"

step "check: static files (whitenoise)"
get -o "$WORK/login.html" "$URL/admin/login/"
css="$(grep -o -m 1 '/static/admin/css/base\.[0-9a-f]*\.css' "$WORK/login.html" || true)"
[ -n "$css" ] || fail "the admin login page names no hashed stylesheet"
[ "$(get -o /dev/null -w '%{http_code}' "$URL$css")" = 200 ] || fail "$css is not served"

step "check: the worker answers a Celery ping"
worker_host="$(podman inspect --format '{{.Config.Hostname}}' "$(container worker)")"
podman exec "$(container web)" celery -A jemh inspect ping --timeout 10 --destination "worker@$worker_host" \
  | grep pong >/dev/null || fail "the worker did not answer a ping"

step "check: a mail delivered through the web container becomes an issue"
podman exec -i "$(container web)" python manage.py shell --verbosity 0 < docker/test/mail_setup.py \
  | grep "mail setup done" >/dev/null || fail "docker/test/mail_setup.py failed"
printf 'From: Carol <carol@customer.example>\r\nTo: support@jemh.test\r\nSubject: Printer on fire in compose\r\nMessage-ID: <compose-test@customer.example>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nPlease help.\r\n' \
  | podman exec -i "$(container web)" python manage.py jemh deliver --source compose-mta
deadline=$((SECONDS + 60))
until [ "$(podman exec "$(container web)" python manage.py shell --verbosity 0 -c \
  "from trackers.models import Issue; print(Issue.objects.filter(summary='Printer on fire in compose').count())")" = 1 ]; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the delivered mail did not become an issue in 60 s"
  sleep 2
done

step "down -v"
compose down -v >"$WORK/down.log" 2>&1 || { cat "$WORK/down.log"; fail "compose down -v"; }
left="$(podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Names}}')"
[ -z "$left" ] || fail "containers left after down -v: $left"
volumes="$(podman volume ls --filter "label=io.podman.compose.project=$PROJECT" --format '{{.Name}}')"
[ -z "$volumes" ] || fail "volumes left after down -v: $volumes"
rm -f "$WORK/env"  # nothing left for the clean-up to take down
step "docker/test.sh passed (image $((SIZE / 1024 / 1024)) MiB, built in $BUILD_SECONDS s, whole run $((SECONDS - STARTED)) s)"
