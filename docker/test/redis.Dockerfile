# A stand-in for the official redis image, for docker/test.sh on machines that reach no image registry: Debian's
# Redis 7 (redis-server and redis-cli on the PATH, data in /data). Not for production: use the official image there.
ARG BASE=localhost/jemh-base:bookworm
FROM ${BASE}
LABEL io.jemh.image="jemh-test-redis"
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data \
    && chown redis:redis /data
# hadolint ignore=DL3066
USER redis
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
