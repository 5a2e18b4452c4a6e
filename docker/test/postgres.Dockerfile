# A stand-in for the official postgres image, for docker/test.sh on machines that reach no image registry: Debian's
# PostgreSQL 15 with the same interface (POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE, the data volume at
# /var/lib/postgresql/data, pg_isready). Not for production: use the official image there.
ARG BASE=localhost/jemh-base:bookworm
FROM ${BASE}
LABEL io.jemh.image="jemh-test-postgres"
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
COPY docker/test/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
# hadolint ignore=DL3066
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
ENTRYPOINT ["postgres-entrypoint"]
