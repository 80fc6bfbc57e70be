# Stand-in for postgres:16 (scripts/compose-images.sh): Debian bookworm's PostgreSQL, which is
# 15 (Temporal's postgres12 plugin and nblc need 12 or newer), with an entrypoint that does what
# the official one does for the settings docker-compose.yml uses: POSTGRES_USER,
# POSTGRES_PASSWORD_FILE, the data in /var/lib/postgresql/data initialised at the first start.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
RUN mkdir -p "$PGDATA" /var/run/postgresql && chown postgres:postgres "$PGDATA" /var/run/postgresql
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
